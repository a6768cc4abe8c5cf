"""A batch killed with kill -9 keeps every finished report, and --resume finishes it.

The runs are the real command line in a subprocess; the kill is SIGKILL to
its whole process group (pytest, its xdist workers, the sandboxes) while it
is grading.
"""
from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from grader.course.stubs import solution_path, stub_source
from tests.catalogue import catalogue, patched_source
from tests.conftest import ROOT, run_grader

A = "03_backprop"
STUDENTS = 16


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """Distinct submissions: solutions, stubs and catalogue bugs, each its own file."""
    folder = tmp_path_factory.mktemp("class")
    bugs, _ = catalogue(A)
    sources = [solution_path(A).read_text(), stub_source(A)] + [
        patched_source(A, bug.code) for bug in bugs]
    paths = []
    for number in range(STUDENTS):
        path = folder / f"student{number:02d}.py"
        path.write_text(sources[number % len(sources)] + f"\n# student {number}\n")
        paths.append(str(path))
    return folder, paths


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def clean_run(klass):
    folder, paths = klass
    out = folder / "clean.jsonl"
    done = run_grader("grade", A, *paths, "--json", str(out), "--seed", "4", "--jobs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    return _lines(out)


def test_a_killed_run_keeps_its_finished_reports_and_resume_completes_it(klass, clean_run):
    folder, paths = klass
    out = folder / "killed.jsonl"
    partial = folder / "killed.jsonl.partial"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    run = subprocess.Popen([sys.executable, "-m", "grader", "grade", A, *paths, "--json",
                            str(out), "--seed", "4", "--jobs", "2"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        if partial.exists() and len(partial.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    assert run.poll() is None, "the run finished before it could be killed"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()

    assert not out.exists()  # no half-written report file
    survivors = [json.loads(line) for line in partial.read_text().splitlines()
                 if line.endswith("}")]
    assert 3 <= len(survivors) < STUDENTS
    by_path = {r["submission"]: r for r in clean_run}
    for report in survivors:  # what was recorded before the kill is the grade itself
        assert report == by_path[report["submission"]]

    done = run_grader("grade", A, *paths, "--json", str(out), "--resume", "--jobs", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{len(survivors)} submissions already graded" in done.stderr
    assert _lines(out) == clean_run  # same seed adopted, same order, same reports
    assert not partial.exists()


def test_resume_regrades_what_changed_and_nothing_else(klass, clean_run, tmp_path):
    folder, paths = klass
    out = tmp_path / "report.jsonl"
    changed = tmp_path / "student01.py"  # a stub, now solved
    changed.write_text(solution_path(A).read_text())
    paths = [str(changed) if p.endswith("student01.py") else p for p in paths]
    clean_run = [dict(r, submission=str(changed)) if r["submission"].endswith("student01.py")
                 else r for r in clean_run]
    out.write_text("".join(json.dumps(r) + "\n" for r in clean_run))

    done = run_grader("grade", A, *paths, "--json", str(out), "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{STUDENTS - 1} submissions already graded" in done.stderr
    reports = _lines(out)
    assert reports[1]["score"] == 100 and reports[1]["sha256"] != clean_run[1]["sha256"]
    assert reports[:1] + reports[2:] == clean_run[:1] + clean_run[2:]


def test_resume_with_another_seed_regrades_everything(klass, clean_run, tmp_path):
    folder, paths = klass
    out = tmp_path / "report.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in clean_run))
    done = run_grader("grade", A, *paths[:2], "--json", str(out), "--resume", "--seed", "5")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "already graded" not in done.stderr
    assert [r["seed"] for r in _lines(out)] == [5, 5]


def test_resume_needs_a_report_file():
    done = run_grader("grade", A, str(solution_path(A)), "--resume")
    assert done.returncode == 2 and "--resume needs --json PATH" in done.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])  # with --jobs, the first report tells the total
def test_a_terminal_shows_a_progress_bar(klass, jobs):
    _, paths = klass
    main, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    run = subprocess.Popen([sys.executable, "-m", "grader", "grade", A, *paths[:3], "--seed", "1",
                            "--jobs", jobs],
                           cwd=ROOT, env={**env, "COLUMNS": "120", "TERM": "xterm"},
                           stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the run is over
            break
        if not chunk:
            break
        seen += chunk
    assert run.wait(timeout=300) == 0
    text = seen.decode(errors="replace")
    assert "grading" in text and "/51" in text  # 3 submissions x 17 exercises
