"""Build the course's notebooks and release from one source of truth.

    python -m grader.course.build            # notebooks + release/
    python -m grader.course.build --notebooks-only

Sources:
- ``solutions/<A>.py``: every graded function's code (with nbgrader's
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers) and the imports;
- ``assignments/src/<A>.py``: a jupytext percent file holding the teaching
  text (markdown cells, English and Simplified Chinese) and, for each graded
  function, a marker cell ``# %% answer="<function>"`` with no code.

The build writes ``assignments/<A>/<A>.ipynb`` (nbgrader's source notebook):
each marker becomes an answer cell holding that function's code copied from
the solution module (the first one also holds the module's imports), followed
by one locked autograded test cell whose ``grade_id`` is the exercise's name
and whose points are the grader's (``checks_for``). Then ``release/`` is made
by the real ``nbgrader generate_assignment`` in a temporary course directory,
plus a plain ``.py`` stub per assignment (``stubs.stub_source``).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from grader.course.stubs import ROOT, RELEASE, solution_path, stub_source

ASSIGNMENTS_DIR = ROOT / "assignments"
SOURCES = ASSIGNMENTS_DIR / "src"
CONFIG = ROOT / "nbgrader_config.py"
COURSE_ASSIGNMENTS = ("01_derivatives", "02_chain_rule", "03_backprop", "04_optimization")

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def answer_meta(name: str) -> dict:
    return {"grade": False, "solution": True, "locked": False,
            "grade_id": f"{name}_answer", "schema_version": 3}


def test_meta(name: str, points: float) -> dict:
    return {"grade": True, "solution": False, "locked": True, "points": points,
            "grade_id": name, "schema_version": 3}


def test_source(assignment: str, name: str) -> str:
    return ("# Self-check: runs the PUBLIC cases of this exercise on your code above.\n"
            "# Your grade comes from the course's grader (public and hidden cases).\n"
            "from grader.course.selfcheck import self_check\n"
            f'self_check("{assignment}", "{name}")')


def solution_parts(assignment: str) -> tuple[str, dict[str, str]]:
    """The solution module's import lines, and each top-level definition's code."""
    text = solution_path(assignment).read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    imports, definitions = [], {}
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        end = node.end_lineno  # the AST ends at the last statement: take the indented
        while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
            end += 1  # comments after it, e.g. the closing ### END SOLUTION
        segment = "\n".join(lines[start - 1:end]).rstrip()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions[node.name] = segment
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        else:
            raise ValueError(f"{assignment}: top-level statement on line {node.lineno} "
                             "belongs to no function; put it inside one")
    return "\n".join(imports), definitions


def exercise_points(assignment: str) -> dict[str, float]:
    from grader.checks.core import checks_for

    return {check.name: float(check.points) for check in checks_for(assignment)}


def build_notebook(assignment: str) -> nbformat.NotebookNode:
    imports, definitions = solution_parts(assignment)
    points = exercise_points(assignment)
    source = jupytext.read(SOURCES / f"{assignment}.py", fmt="py:percent")
    cells, placed = [], []
    for cell in source.cells:
        name = cell.metadata.get("answer")
        if cell.cell_type == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
            continue
        if name is None:
            raise ValueError(f"{assignment}: code cells in the source must be answer markers")
        if name not in definitions:
            raise ValueError(f"{assignment}: answer marker {name!r} names no solution definition")
        if name in placed:
            raise ValueError(f"{assignment}: two answer markers for {name!r}")
        code = definitions[name] if placed else f"{imports}\n\n\n{definitions[name]}"
        placed.append(name)
        cells.append(nbformat.v4.new_code_cell(code, metadata={"nbgrader": answer_meta(name)}))
        if name in points:
            cells.append(nbformat.v4.new_code_cell(
                test_source(assignment, name),
                metadata={"nbgrader": test_meta(name, points[name])}))
    missing = [n for n in definitions if n not in placed]
    if missing:
        raise ValueError(f"{assignment}: no answer marker for {', '.join(missing)}")
    unchecked = [n for n in placed if n not in points]
    if unchecked:
        print(f"warning: {assignment}: no grader check registered for {', '.join(unchecked)}; "
              "no test cell made for it (rebuild when the check exists)", file=sys.stderr)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": KERNELSPEC,
                         "language_info": {"name": "python"}}
    for cell in notebook.cells:  # ids derived from content, so the build is reproducible
        meta = cell.metadata.get("nbgrader", {})
        cell.id = meta.get("grade_id", "").replace("_", "-") or f"text-{cells.index(cell)}"
    return notebook


def write_notebooks(root: Path = ASSIGNMENTS_DIR) -> list[Path]:
    written = []
    for assignment in COURSE_ASSIGNMENTS:
        notebook = build_notebook(assignment)
        path = root / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(notebook)
        path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
        written.append(path)
    return written


def nbgrader_bin() -> str:
    candidate = Path(sys.executable).with_name("nbgrader")
    return str(candidate) if candidate.exists() else "nbgrader"


def nbgrader_env() -> dict[str, str]:
    """The environment of an nbgrader command run for the course."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    # nbgrader runs `alembic` and our plugins run `python -m grader`: this venv first
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # the course's plugins (grader.course.nbgrader_plugins) must import, installed or not
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def nbgrader(course: Path, *args: str, check: bool = True, timeout: float = 1800
             ) -> subprocess.CompletedProcess:
    """Run one real ``nbgrader`` command in a course directory."""
    done = subprocess.run([nbgrader_bin(), *args], cwd=course, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stderr[-4000:]}")
    return done


def new_course(course: Path) -> Path:
    """A course directory: the repository's config and source notebooks."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG, course / "nbgrader_config.py")
    for assignment in COURSE_ASSIGNMENTS:
        target = course / "assignments" / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(ASSIGNMENTS_DIR / assignment / f"{assignment}.ipynb", target)
    return course


def generate_release(course: Path) -> None:
    for assignment in COURSE_ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment, "--force")


def write_release(out: Path = RELEASE) -> None:
    """``release/``: nbgrader's student notebooks plus a plain .py stub each."""
    with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
        course = new_course(Path(tmp) / "course")
        generate_release(course)
        for assignment in COURSE_ASSIGNMENTS:
            target = out / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "release" / assignment, target)
            (target / f"{assignment}.py").write_text(stub_source(assignment), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks-only", action="store_true",
                        help="write assignments/<A>/<A>.ipynb but not release/")
    args = parser.parse_args(argv)
    for path in write_notebooks():
        print(f"wrote {path.relative_to(ROOT)}")
    if not args.notebooks_only:
        write_release()
        print(f"wrote {RELEASE.relative_to(ROOT)}/ (nbgrader generate_assignment + .py stubs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
