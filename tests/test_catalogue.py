"""The grader graded: the solutions, the stubs, known bugs and correct variants.

Each assignment's whole catalogue is graded in one batch through the real
command line, as an instructor grades a class; each test then reads its row.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path
from typing import Callable

import pytest

from grader.course.stubs import solution_path, stub_source
from tests.catalogue import catalogue, patched_source
from tests.conftest import ASSIGNMENTS, by_name, grade_json

SEED = 5
ENTRIES = [(a, entry) for a in ASSIGNMENTS for group in catalogue(a) for entry in group]
BUGS = [(a, e) for a, e in ENTRIES if hasattr(e, "breaks")]
VARIANTS = [(a, e) for a, e in ENTRIES if not hasattr(e, "breaks")]


def grade_catalogue(new_folder: Callable[[str], Path]) -> dict[str, dict[str, dict]]:
    """assignment -> slug -> report, for the solution, the stub and every entry.

    One grading run per assignment (``--jobs 2``), as a class is graded:
    ``new_folder(name)`` gives an empty folder for that assignment's files.
    """
    reports = {}
    for assignment in ASSIGNMENTS:
        folder = new_folder(assignment)
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


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[str, dict[str, dict]]:
    """The catalogue graded once per test session, shared with tests/test_hit_rate.py.

    Under xdist every worker has its own session, so the first to get here
    grades and leaves the reports in the run's shared temporary folder; the
    others wait on the lock and read them (pytest-xdist's recipe).
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = shared / "catalogue-reports.json"
    with open(shared / "catalogue-reports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.is_file():
            return json.loads(cache.read_text(encoding="utf-8"))
        reports = grade_catalogue(tmp_path_factory.mktemp)
        cache.write_text(json.dumps(reports), encoding="utf-8")
    return reports


def test_catalogue_is_large_enough():
    assert len(BUGS) >= 30
    assert {a for a, _ in BUGS} == set(ASSIGNMENTS)


def test_every_bug_carries_its_expected_diagnosis():
    assert [b.slug for _, b in BUGS if not b.diagnosis] == []


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


#: the shrunk part of a failed Value case, as the feedback shows it
SMALLEST_PART = re.compile(r"the smallest part of this expression that is still wrong is "
                           r"(.+?) \(with ")
OPERATION = re.compile(r" (?:\+|-|\*|/|\*\*) |\.\w+\(\)")
VALUE_BUGS = [(a, b) for a, b in BUGS if b.breaks == "Value" and
              not any(code.startswith("misconception:") for code in b.diagnosis)]


@pytest.mark.parametrize("assignment,bug", VALUE_BUGS, ids=[b.slug for _, b in VALUE_BUGS])
def test_value_feedback_shows_the_smallest_wrong_part(graded, assignment, bug):
    """A random graph's failure is shrunk to an operation or two, on public cases only."""
    exercise = by_name(graded[assignment][bug.slug])["Value"]
    failed = [case for case in exercise["cases"] if not case["passed"]]
    shown = [SMALLEST_PART.search(case["feedback"]) for case in failed if case["public"]]
    parts = [match.group(1) for match in shown if match]
    assert parts, [case["feedback"] for case in failed if case["public"]]
    assert min(len(OPERATION.findall(part)) for part in parts) <= 2, parts
    assert SMALLEST_PART.search(exercise["feedback"]), exercise["feedback"]
    assert not any(SMALLEST_PART.search(case["feedback"]) for case in failed
                   if not case["public"])
