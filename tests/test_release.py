"""The course's notebooks and release/ come from solutions/ and are up to date.

- every answer cell of assignments/<A>/<A>.ipynb is the solution's code
  (no drift), and every exercise has one test cell with the grader's points;
- release/ equals what `nbgrader generate_assignment` makes now (not stale);
- release/ holds no solution code and no hidden case.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.checks.core import checks_for
from grader.course import build
from grader.course.stubs import RELEASE, ROOT, solution_path, stub_source

ASSIGNMENTS = build.COURSE_ASSIGNMENTS


def cells(path: Path):
    return nbformat.read(str(path), as_version=4).cells


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answer_cells_are_the_solution(assignment):
    imports, definitions = build.solution_parts(assignment)
    answers = [c for c in cells(ROOT / "assignments" / assignment / f"{assignment}.ipynb")
               if meta(c).get("solution")]
    assert [meta(c)["grade_id"] for c in answers] == [f"{n}_answer" for n in definitions]
    code = "\n\n\n".join(c.source for c in answers)
    expected = imports + "\n\n\n" + "\n\n\n".join(definitions.values())
    assert code == expected, "assignments/ drifted from solutions/: run python -m grader.course.build"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_matches_a_fresh_build(assignment):
    built = nbformat.writes(build.build_notebook(assignment)) + "\n"
    on_disk = (ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text("utf-8")
    assert built == on_disk, "stale notebook: run python -m grader.course.build"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_test_cell_per_exercise_with_the_graders_points(assignment):
    tests = [meta(c) for c in cells(ROOT / "assignments" / assignment / f"{assignment}.ipynb")
             if meta(c).get("grade")]
    expected = [(c.name, float(c.points)) for c in checks_for(assignment)]
    assert sorted((t["grade_id"], t["points"]) for t in tests) == sorted(expected)
    for t in tests:
        assert t["locked"] and not t["solution"] and t["schema_version"] == 3


def test_metadata_is_valid_nbgrader():
    from nbgrader.nbgraderformat import MetadataValidator

    for assignment in ASSIGNMENTS:
        for base in (ROOT / "assignments", RELEASE):
            notebook = nbformat.read(str(base / assignment / f"{assignment}.ipynb"), 4)
            MetadataValidator().validate_nb(notebook)


@pytest.fixture(scope="module")
def fresh_release():
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "release"
        build.write_release(out)
        yield out


def _normalised(path: Path):
    if path.suffix == ".ipynb":
        return json.loads(path.read_text("utf-8"))
    return path.read_text("utf-8")


def test_release_is_not_stale(fresh_release):
    committed = sorted(p.relative_to(RELEASE) for p in RELEASE.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(fresh_release) for p in fresh_release.rglob("*") if p.is_file())
    assert committed == fresh
    for rel in fresh:
        assert _normalised(RELEASE / rel) == _normalised(fresh_release / rel), \
            f"release/{rel} is stale: run python -m grader.course.build"


def _solution_lines(assignment: str) -> list[str]:
    """Every non-trivial line inside a solution region."""
    lines, inside = [], False
    for line in solution_path(assignment).read_text("utf-8").splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 12 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def _release_text(assignment: str) -> str:
    folder = RELEASE / assignment
    text = (folder / f"{assignment}.py").read_text("utf-8")
    for cell in cells(folder / f"{assignment}.ipynb"):
        text += "\n" + cell.source
    return text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_code(assignment):
    release = {line.strip() for line in _release_text(assignment).splitlines()}
    stub = {line.strip() for line in stub_source(assignment).splitlines()}
    leaked = [line for line in _solution_lines(assignment) if line in release and line not in stub]
    assert not leaked, f"solution lines in release/{assignment}: {leaked[:5]}"
    assert "BEGIN SOLUTION" not in _release_text(assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_hidden_case(assignment):
    text = _release_text(assignment)
    assert "HIDDEN TESTS" not in text and "hidden 1" not in text
    assert "grading_seed" not in text
    for path in (RELEASE / assignment).rglob("*"):
        assert path.suffix in (".ipynb", ".py"), f"unexpected file in the release: {path}"
