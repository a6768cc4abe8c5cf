"""The grader graded: the solutions, the stubs, known bugs and correct variants.

Each assignment's whole catalogue is graded in one batch through the real
command line, as an instructor grades a class; each test then reads its row.
"""
from __future__ import annotations

import pytest

from grader.course.stubs import solution_path, stub_source
from tests.catalogue import catalogue, patched_source
from tests.conftest import ASSIGNMENTS, by_name, grade_json

SEED = 5
ENTRIES = [(a, entry) for a in ASSIGNMENTS for group in catalogue(a) for entry in group]
BUGS = [(a, e) for a, e in ENTRIES if hasattr(e, "breaks")]
VARIANTS = [(a, e) for a, e in ENTRIES if not hasattr(e, "breaks")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """assignment -> slug -> report, for the solution, the stub and every entry."""
    reports = {}
    for assignment in ASSIGNMENTS:
        folder = tmp_path_factory.mktemp(assignment)
        paths = {"solution": solution_path(assignment)}
        (folder / "stub.py").write_text(stub_source(assignment))
        paths["stub"] = folder / "stub.py"
        for group in catalogue(assignment):
            for entry in group:
                paths[entry.slug] = folder / f"{entry.slug}.py"
                paths[entry.slug].write_text(patched_source(assignment, entry.code))
        rows = grade_json(assignment, paths.values(), "--seed", str(SEED), "--jobs", "2")
        reports[assignment] = dict(zip(paths, rows))
    return reports


def test_catalogue_is_large_enough():
    assert len(BUGS) >= 30
    assert {a for a, _ in BUGS} == set(ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks(graded, assignment):
    report = graded[assignment]["solution"]
    failing = {e["name"]: e["feedback"] for e in report["exercises"] if e["status"] != "passed"}
    assert failing == {}
    assert report["score"] == report["max_score"] == 100


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("seed", [1, 2])
def test_solution_full_marks_at_other_seeds(assignment, seed):
    (report,) = grade_json(assignment, [solution_path(assignment)], "--seed", str(seed))
    assert report["score"] == report["max_score"], [e for e in report["exercises"]
                                                    if e["status"] != "passed"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stub_scores_zero_not_attempted(graded, assignment):
    report = graded[assignment]["stub"]
    assert report["score"] == 0
    for exercise in report["exercises"]:
        assert exercise["status"] == "not_attempted", exercise
        assert exercise["diagnosis"] == ["not_implemented"]


@pytest.mark.parametrize("assignment,bug", BUGS, ids=[b.slug for _, b in BUGS])
def test_bug_loses_points_on_exactly_its_function(graded, assignment, bug):
    exercises = by_name(graded[assignment][bug.slug])
    assert exercises[bug.breaks]["score"] < exercises[bug.breaks]["max_score"]
    assert exercises[bug.breaks]["status"] in ("partial", "failed")
    elsewhere = {name: e["feedback"] for name, e in exercises.items()
                 if name != bug.breaks and e["status"] != "passed"}
    assert elsewhere == {}


@pytest.mark.parametrize("assignment,bug", BUGS, ids=[b.slug for _, b in BUGS])
def test_bug_is_diagnosed(graded, assignment, bug):
    exercise = by_name(graded[assignment][bug.slug])[bug.breaks]
    assert set(bug.diagnosis) <= set(exercise["diagnosis"]), exercise["feedback"]


@pytest.mark.parametrize("assignment,variant", VARIANTS, ids=[v.slug for _, v in VARIANTS])
def test_correct_variant_keeps_full_marks(graded, assignment, variant):
    report = graded[assignment][variant.slug]
    failing = {e["name"]: e["feedback"] for e in report["exercises"] if e["status"] != "passed"}
    assert failing == {}
