"""Helpers shared by the tests that run the course in the real nbgrader.

- ``class_reports``: the grader's own JSON reports of every autograded notebook
  of a ``grader.demo.CourseRun``, from the CLI with the course's seed;
- ``gradebook_cells``: a submission's per-exercise scores, read from the
  course's gradebook (SQLite or PostgreSQL: ``run.db_url``);
- ``assert_gradebook_equals_reports``: every gradebook score is the report's;
- ``small_course``: a course with one assignment released and a few
  submissions collected, not yet autograded (for the gradebook-safety tests).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.checks.core import checks_for
from grader.course.build import nbgrader, new_course
from grader.demo import SEED_FILE, CourseRun, sqlite_url, submit_class
from tests.conftest import grade_json


def class_reports(run: CourseRun) -> dict[tuple[str, str], dict]:
    """(student, assignment) -> the grader's report of the autograded notebook."""
    seed = int((run.course / SEED_FILE).read_text())
    assert seed == run.seed
    found = {}
    for assignment in run.assignments:
        graded = [s for s in run.students if run.autograded(s, assignment).exists()]
        paths = [run.autograded(s, assignment) for s in graded]
        if not paths:
            continue
        for student, report in zip(graded, grade_json(assignment, paths, "--seed", str(seed),
                                                      "--jobs", "2")):
            found[(student, assignment)] = report
    return found


def gradebook_cells(run: CourseRun, student: str, assignment: str) -> dict[str, float | None]:
    """Exercise -> auto_score of one submission, from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(run.db_url, course_id="backprop") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.auto_score for g in notebook.grades if not g.name.endswith("_answer")}


def assert_gradebook_equals_reports(run: CourseRun, reports: dict) -> None:
    assert reports
    for (student, assignment), report in reports.items():
        cells = gradebook_cells(run, student, assignment)
        exercises = {e["name"]: e for e in report["exercises"]}
        assert set(cells) == set(exercises) == {c.name for c in checks_for(assignment)}
        for name, exercise in exercises.items():
            assert cells[name] == exercise["score"], (student, assignment, name)
            assert 0 <= cells[name] <= exercise["max_score"]
        score, top = run.totals[(student, assignment)]
        assert score == pytest.approx(report["score"]) and top == report["max_score"]


def small_course(course: Path, assignment: str, students, seed: int = 20250115) -> CourseRun:
    """``assignment`` released (SQLite gradebook) and ``students`` handed in, not graded."""
    new_course(course)
    (course / SEED_FILE).write_text(f"{seed}\n", encoding="utf-8")
    run = CourseRun(course, seed, [s.name for s in students], {}, db_url=sqlite_url(course),
                    assignments=(assignment,))
    nbgrader(course, "generate_assignment", assignment, "--force",
             f"--CourseDirectory.db_url={run.db_url}")
    run.handed_in = submit_class(course, students, run.assignments)
    return run


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader runs in (as ``grader.course.build.nbgrader``), no GRADER_DB_URL."""
    from grader.course.autograde import nbgrader_env as env

    found = env()
    found.pop("GRADER_DB_URL", None)
    return found
