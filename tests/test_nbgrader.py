"""The course in nbgrader, end to end, with the real nbgrader commands.

One course run (module fixture, ``grader.demo.run_course``): release, a sample
class's submissions, ``nbgrader autograde``, ``generate_feedback``, ``export``.
Then every gradebook score is compared with the JSON report of
``python -m grader grade A <autograded notebook> --json - --seed <course seed>``.
"""
from __future__ import annotations

import csv
import html
import re

import nbformat
import pytest

from grader.checks.core import checks_for
from grader.course.build import COURSE_ASSIGNMENTS
from grader.demo import CLASS, run_course
from grader.report.feedback import headline
from grader.report.model import exercise_from_json
from tests.nbgrader_course import assert_gradebook_equals_reports, class_reports


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return run_course(tmp_path_factory.mktemp("nbgrader") / "course", log=lambda *_: None)


@pytest.fixture(scope="module")
def reports(course):
    """The grader's own reports of every autograded notebook, from the CLI."""
    return class_reports(course)


def test_every_submission_but_the_broken_ones_is_graded(course):
    expected_problems = {(s.name, a) for s in CLASS for a in s.corrupt + s.missing}
    assert set(course.problems) == expected_problems
    assert len(course.totals) == len(CLASS) * len(COURSE_ASSIGNMENTS) - len(expected_problems)


def test_gradebook_scores_equal_the_json_report(course, reports):
    assert course.db_url == f"sqlite:///{course.course / 'gradebook.db'}"
    assert_gradebook_equals_reports(course, reports)


def test_scores_vary_across_the_class(course, reports):
    backprop = {s: r["score"] for (s, a), r in reports.items() if a == "03_backprop"}
    assert backprop["ada"] == 100
    assert len(set(backprop.values())) >= 4
    zeros = [e for r in reports.values() for e in r["exercises"] if e["score"] == 0]
    assert zeros, "a 0 is recorded as 0"


def test_tampering_changes_nothing(course, reports):
    for assignment in COURSE_ASSIGNMENTS:
        report = reports[("eli", assignment)]
        assert report["score"] < report["max_score"]
        notebook = nbformat.read(str(course.autograded("eli", assignment)), 4)
        tests = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
        # the edited test cell is restored and the deleted one is back
        assert len(tests) == len(checks_for(assignment))
        assert all("self_check(" in c.source for c in tests)
        answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
        assert "np.allclose = lambda" in answer.source


def test_corrupt_notebook_gets_a_clear_message(course):
    assert "not a readable notebook" in course.problems[("fay", "02_chain_rule")]
    page = course.feedback("fay", "02_chain_rule").read_text()
    assert "could not be graded" in page
    assert ("ada", "02_chain_rule") in course.totals


def test_feedback_pages(course, reports):
    for (student, assignment), report in reports.items():
        page = course.feedback(student, assignment).read_text(encoding="utf-8")
        for exercise in report["exercises"]:  # the grader's own renderer's words
            assert html.escape(headline(exercise_from_json(exercise))) in page
        assert "BEGIN HIDDEN" not in page
        assert not re.search(r"hidden \d+:", page), "a hidden case is described in feedback"


def test_export_csv_has_the_totals(course):
    with open(course.course / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_key = {(r["student_id"], r["assignment"]): float(r["raw_score"]) for r in rows}
    for key, (score, _) in course.totals.items():
        assert by_key[key] == pytest.approx(score)
    assert by_key.get(("gus", "04_optimization"), 0.0) == 0.0
