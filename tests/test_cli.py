"""The command line of the grading contract: output, seeds, exit codes."""
from __future__ import annotations

import json

from grader.course.stubs import solution_path
from tests.conftest import grade_json, run_grader

A = "03_backprop"


def test_unknown_assignment_is_a_bad_call():
    done = run_grader("grade", "05_nothing", str(solution_path(A)))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown assignment" in done.stderr


def test_missing_file_is_a_bad_call():
    done = run_grader("grade", A, "no/such/file.py")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_json_on_stdout_is_only_json_and_table_goes_to_stderr(write):
    student = write("printer.py", "import sys\nprint('SCORE 100', flush=True)\n"
                    "sys.stderr.write('{\"score\": 100}\\n')\n" + solution_path(A).read_text())
    done = run_grader("grade", A, str(solution_path(A)), str(student), "--json", "-",
                      "--seed", "4")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    reports = [json.loads(line) for line in lines]
    assert [r["submission"] for r in reports] == [str(solution_path(A)), str(student)]
    assert "linear_backward" in done.stderr  # the readable table


def test_report_shape_follows_the_contract():
    (report,) = grade_json(A, [solution_path(A)], "--seed", "4")
    assert {"submission", "assignment", "score", "max_score", "exercises"} <= set(report)
    for exercise in report["exercises"]:
        assert {"name", "score", "max_score", "status", "diagnosis", "feedback", "cases"} \
            <= set(exercise)
        for case in exercise["cases"]:
            assert {"name", "passed", "feedback"} <= set(case)
            assert case["public"] == case["name"].startswith("public")


def test_same_seed_same_report_and_seed_is_recorded(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        done = run_grader("grade", A, str(solution_path(A)), "--json", str(path), "--seed", "9")
        assert done.returncode == 0
        assert "linear_backward" in done.stdout
    assert first.read_text() == second.read_text()
    assert json.loads(first.read_text())["seed"] == 9


def test_without_seed_a_secret_seed_is_drawn_and_recorded():
    (one,) = grade_json(A, [solution_path(A)])
    (two,) = grade_json(A, [solution_path(A)])
    assert isinstance(one["seed"], int) and one["seed"] != two["seed"]
    assert any(c["name"].startswith("hidden") for c in one["exercises"][0]["cases"])


def test_public_runs_only_public_cases():
    (report,) = grade_json(A, [solution_path(A)], "--public")
    cases = [c["name"] for e in report["exercises"] for c in e["cases"]]
    assert cases and all(name.startswith("public") for name in cases)


def test_jobs_give_the_same_reports_as_one_job(tmp_path):
    paths = [solution_path(A)] * 3
    assert grade_json(A, paths, "--seed", "2", "--jobs", "2") == \
        grade_json(A, paths, "--seed", "2")


def test_instructors_plain_pytest_run_has_an_item_per_exercise(tmp_path):
    """The README's own-pytest recipe (the plugin loads by its entry point): an item per
    exercise, each passed or failed, on xdist workers too."""
    import os
    import subprocess
    import sys

    import grader.run_checks
    from grader.checks.core import checks_for
    from grader.course.stubs import stub_source
    from tests.conftest import ROOT

    stub = tmp_path / "stub.py"
    stub.write_text(stub_source(A), encoding="utf-8")
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--assignment", A, "--submission", str(solution_path(A)),
                           "--submission", str(stub), "--grading-seed", "4", "-n", "2",
                           "-p", "no:cacheprovider", "--junitxml", str(junit),
                           grader.run_checks.__file__], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout[-3000:]  # the stub's items fail
    names = [check.name for check in checks_for(A)]
    summary = done.stdout.splitlines()[-1]
    assert f"{len(names)} failed, {len(names)} passed" in summary, summary
    report = junit.read_text()
    for name in names:
        assert f"test_exercise[{name}-submission0]" in report
        assert f"test_exercise[{name}-submission1]" in report
    assert "not_attempted" in report
