"""Bad submissions get a clear status, and the rest of the batch is still graded."""
from __future__ import annotations

from grader.course.stubs import solution_path
from tests.catalogue import patched_source
from tests.conftest import by_name, grade_json, run_grader

A = "03_backprop"


def test_bad_submissions_do_not_stop_the_batch(write):
    good = solution_path(A)
    syntax = write("syntax.py", "def linear_forward(x, w, b):\n    return x @@ w\n")
    import_crash = write("import_crash.py", "import numpy as np\nraise ValueError('oops')\n")
    exits = write("exits.py", "import os\nos._exit(0)\n")
    missing = write("missing.py", patched_source(A, "del linear_backward\n"))
    raises = write("raises.py", patched_source(A, """
        def relu_forward(x):
            raise KeyError("boom")
        """))
    loops = write("loops.py", patched_source(A, """
        def tanh_forward(x):
            while True:
                pass
        """))
    corrupt = write("corrupt.ipynb", '{"cells": [ this is not json')
    reports = grade_json(A, [syntax, good, import_crash, exits, missing, raises, loops,
                             corrupt, good], "--seed", "3")
    assert [r["submission"] for r in reports][1] == str(good)
    assert reports[1]["score"] == reports[-1]["score"] == 100

    for report in reports[:1] + reports[2:4]:  # nothing loads: every exercise says why
        assert report["score"] == 0
        assert {e["status"] for e in report["exercises"]} == {"error"}
    assert "SyntaxError" in reports[0]["exercises"][0]["feedback"]
    assert "line 2" in reports[0]["exercises"][0]["feedback"]
    assert "ValueError" in reports[2]["exercises"][0]["feedback"]
    assert "exited" in reports[3]["exercises"][0]["feedback"]

    absent = by_name(reports[4])
    assert absent["linear_backward"]["status"] == "not_attempted"
    assert "not defined" in absent["linear_backward"]["feedback"]
    assert absent["linear_forward"]["status"] == "passed"

    crashing = by_name(reports[5])
    assert crashing["relu_forward"]["status"] == "error"
    assert crashing["relu_forward"]["diagnosis"] == ["exception"]
    assert "KeyError" in crashing["relu_forward"]["feedback"]
    assert crashing["linear_backward"]["status"] == "passed"

    endless = by_name(reports[6])
    assert endless["tanh_forward"]["status"] == "timeout"
    assert endless["tanh_forward"]["diagnosis"] == ["timeout"]
    assert endless["batchnorm_backward"]["status"] == "passed"  # graded after the timeout

    assert {e["status"] for e in reports[7]["exercises"]} == {"error"}
    assert "not a readable notebook" in reports[7]["error"]


def test_forbidden_library_is_named(write):
    uses_torch = write("torch_user.py", patched_source(A, """
        import torch
        def relu_forward(x):
            return torch.relu(torch.tensor(x)).numpy(), x
        """))
    (report,) = grade_json(A, [uses_torch], "--seed", "3")
    exercises = by_name(report)
    assert exercises["relu_forward"]["status"] == "forbidden"
    assert "torch" in exercises["relu_forward"]["feedback"]
    assert exercises["linear_forward"]["status"] == "passed"


def test_notebook_submission_is_graded(write):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("my work"),
                      nbformat.v4.new_code_cell("%matplotlib inline\n" +
                                                solution_path(A).read_text())]
    path = write("student.ipynb", nbformat.writes(notebook))
    (report,) = grade_json(A, [path], "--seed", "3")
    assert report["score"] == 100


def test_folder_submission_is_graded(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / f"{A}.py").write_text(solution_path(A).read_text())
    (report,) = grade_json(A, [folder], "--seed", "3")
    assert report["score"] == 100
