"""The gradebook survives a killed grading run and two grading runs at once.

One small course (module fixture): the smallest assignment released, four
students handed in (correct, one bug, half stubs, many bugs), SQLite gradebook;
each test grades a copy of it with the real ``nbgrader autograde``. Expected
scores: the grader's own reports of the submitted notebooks at the course's
seed (``python -m grader grade ... --seed N``).

- ``kill -9`` of the whole run once a student is graded and the next is half
  done: nothing already recorded is lost or changed, the SQLite file passes
  ``PRAGMA integrity_check``, and ``python -m grader.course.autograde`` (the
  documented re-run: plain nbgrader would skip the half-done student) grades
  the rest and only the rest.
- two runs at once on one gradebook (different students each, or the same
  ones): the file stays intact, a run that fails says so (exit status and an
  error, never a silent wrong score), and one re-run leaves every student with
  the right grades, in the gradebook and in the autograded notebook alike.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from grader.course.autograde import autograde, incomplete, main as autograde_main, \
    not_graded, notebook_problem
from grader.course.build import nbgrader_bin
from grader.demo import Student, sqlite_url
from tests.conftest import by_name, grade_json
from tests.nbgrader_course import gradebook_cells, nbgrader_env, small_course

ASSIGNMENT = "02_chain_rule"  # the smallest: 3 exercises
STUDENTS = (Student("ann", "correct"), Student("amy", "one_bug"),
            Student("bea", "stubs_half"), Student("bob", "many_bugs"))
NAMES = [s.name for s in STUDENTS]
CLEAR_ERROR = re.compile(r"database is locked|There was an error|error accessing the nbgrader "
                         r"database|Traceback")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return small_course(tmp_path_factory.mktemp("safety") / "base", ASSIGNMENT, STUDENTS)


@pytest.fixture(scope="module")
def expected(base) -> dict[str, dict[str, float]]:
    """student -> exercise -> score, from the grader on the submitted notebooks."""
    paths = [base.course / "submitted" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for s in NAMES]
    reports = grade_json(ASSIGNMENT, paths, "--seed", str(base.seed), "--jobs", "2")
    found = {s: {n: e["score"] for n, e in by_name(r).items()} for s, r in zip(NAMES, reports)}
    assert len({sum(v.values()) for v in found.values()}) >= 3, "the class's scores differ"
    return found


@pytest.fixture
def course(base, tmp_path):
    """A fresh copy of the released, collected, ungraded course."""
    target = tmp_path / "course"
    shutil.copytree(base.course, target)
    return dataclasses.replace(base, course=target, db_url=sqlite_url(target))


def start_autograde(course, *args: str) -> subprocess.Popen:
    """``nbgrader autograde`` in its own process group, output to a log file."""
    log = open(course.course / f"autograde-{time.monotonic_ns()}.log", "w+")
    process = subprocess.Popen([nbgrader_bin(), "autograde", ASSIGNMENT, *args],
                               cwd=course.course, env=nbgrader_env(), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True, text=True)
    process.log = log
    return process


def output_of(process: subprocess.Popen) -> str:
    process.log.seek(0)
    return process.log.read()


def integrity(course) -> str:
    connection = sqlite3.connect(course.course / "gradebook.db")
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def finished(course) -> list[str]:
    return [s for s in NAMES if notebook_problem(course.autograded(s, ASSIGNMENT)) is None]


def notebook_scores(path: Path) -> dict[str, float]:
    """Each test cell's score as the autograded notebook holds it (what feedback shows)."""
    notebook = nbformat.read(str(path), as_version=4)
    scores = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            results = [o for o in cell.outputs if o.output_type == "execute_result"]
            scores[meta["grade_id"]] = float(results[0].data["text/plain"])
    return scores


def assert_everyone_graded_right(course, expected) -> None:
    assert integrity(course) == "ok"
    assert incomplete(course.course, ASSIGNMENT) == {}
    assert not_graded(course.course, ASSIGNMENT) == []
    for student in NAMES:
        recorded = gradebook_cells(course, student, ASSIGNMENT)
        assert recorded == expected[student], student
        assert notebook_scores(course.autograded(student, ASSIGNMENT)) == expected[student]


def test_incomplete_autograded_submissions_are_found(base, tmp_path):
    """What a killed run can leave: no notebook yet, one cut short, one not yet scored."""
    course = tmp_path / "course"
    shutil.copytree(base.course, course, ignore=shutil.ignore_patterns("gradebook.db"))
    submitted = course / "submitted" / "ann" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(str(submitted), as_version=4)
    tests = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in notebook.cells:
        cell.outputs, cell.execution_count = [], None  # as nbgrader's sanitising leaves it
    sanitised = nbformat.writes(notebook)
    tests[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1.0"})]
    for cell in tests:
        cell.execution_count = 1
    graded = nbformat.writes(notebook)
    states = {"ann": graded, "amy": None, "bea": sanitised, "bob": graded[:len(graded) // 2]}
    for student, text in states.items():
        folder = course / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2025-01-15 12:00:00.000000 UTC\n")
        if text is not None:
            (folder / f"{ASSIGNMENT}.ipynb").write_text(text, encoding="utf-8")
    found = incomplete(course, ASSIGNMENT)
    assert set(found) == {"amy", "bea", "bob"}
    assert "missing" in found["amy"] and "cut short" in found["bob"]
    assert f"test cell {tests[0].metadata.nbgrader.grade_id} has no score" in found["bea"]
    assert incomplete(course, ASSIGNMENT, "b*").keys() == {"bea", "bob"}
    shutil.rmtree(course / "autograded" / "amy")  # not started: nbgrader grades it anyway
    assert set(incomplete(course, ASSIGNMENT)) == {"bea", "bob"}
    assert not_graded(course, ASSIGNMENT) == ["amy", "bea", "bob"]


def test_a_killed_run_loses_nothing_and_a_rerun_grades_the_rest(course, expected, capsys):
    process = start_autograde(course)
    deadline = time.monotonic() + 600
    try:
        while True:  # one student graded, the next one being graded: kill the whole run
            done, half = finished(course), incomplete(course.course, ASSIGNMENT)
            if done and any("has no score" in why for why in half.values()):
                os.killpg(process.pid, signal.SIGKILL)
                break
            assert process.poll() is None, "the run ended before it could be killed:\n" + \
                output_of(process)[-3000:]
            assert time.monotonic() < deadline, "no student was graded in time"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    graded_before = finished(course)
    assert graded_before and len(graded_before) < len(NAMES)
    half_done = incomplete(course.course, ASSIGNMENT)
    assert half_done and not set(half_done) & set(graded_before)

    # what was recorded before the kill is there, whole and right
    assert integrity(course) == "ok"
    before = {s: gradebook_cells(course, s, ASSIGNMENT) for s in graded_before}
    assert before == {s: expected[s] for s in graded_before}
    files_before = {s: course.autograded(s, ASSIGNMENT).read_bytes() for s in graded_before}

    # the instructor's check names the half-done student (plain nbgrader would skip it)
    capsys.readouterr()
    assert autograde_main([ASSIGNMENT, "--course", str(course.course), "--check"]) == 1
    listed = capsys.readouterr().out
    assert all(f"{s}/{ASSIGNMENT}: incomplete" in listed for s in half_done)

    # the documented re-run grades the rest, and only the rest
    outcome = autograde(course.course, ASSIGNMENT, db_url=course.db_url, capture=True,
                        log=lambda *_: None, timeout=600)
    assert outcome.returncode == 0, outcome.output[-3000:]
    assert set(outcome.repaired) == set(half_done)
    assert outcome.not_graded == []
    assert "Skipping existing assignment" in outcome.output
    # the rest was graded in one batch run, whose reports TrustedGrade used
    assert outcome.output.count("(from the batch run)") == len(NAMES) - len(graded_before), \
        outcome.output[-3000:]
    assert_everyone_graded_right(course, expected)
    for student in graded_before:  # untouched: not graded again
        assert gradebook_cells(course, student, ASSIGNMENT) == before[student]
        assert course.autograded(student, ASSIGNMENT).read_bytes() == files_before[student]


@pytest.mark.parametrize("split", [("--student=a*", "--student=b*"), ("", "")],
                         ids=["different-students", "same-students"])
def test_two_runs_at_once_leave_the_gradebook_intact(course, expected, split):
    runs = [start_autograde(course, *filter(None, [args])) for args in split]
    for run in runs:
        run.wait(timeout=900)
    outputs = [output_of(run) for run in runs]
    assert integrity(course) == "ok"
    failed = [(run, out) for run, out in zip(runs, outputs) if run.returncode != 0]
    for run, out in failed:  # a failure is loud: an exit status and nbgrader's error
        assert run.returncode == 1 and CLEAR_ERROR.search(out), out[-3000:]
    for run, out in zip(runs, outputs):
        assert "Traceback" not in out or run.returncode != 0, out[-3000:]
    if failed:  # at most one re-run, the documented one
        outcome = autograde(course.course, ASSIGNMENT, db_url=course.db_url, capture=True,
                            log=lambda *_: None, timeout=600)
        assert outcome.returncode == 0, outcome.output[-3000:]
    assert_everyone_graded_right(course, expected)
