"""The one test that grades: each (submission, exercise) pair is an item."""
from __future__ import annotations

import json

import pytest

from grader.checks.core import ExerciseResult
from grader.report.model import exercise_to_wire


def test_exercise(submission, exercise, grading, record_property):
    if submission.sandbox is None:  # unreadable: every exercise says why
        result = ExerciseResult(exercise.name, 0.0, exercise.points, "error", ["exception"],
                                submission.loaded.error, [])
    else:
        result = exercise.grade(submission.sandbox, grading.seed, grading.public_only)
    record_property("grader_result", json.dumps({"submission": submission.index,
                                                 "result": exercise_to_wire(result)}))
    if result.status != "passed":  # the verdict is in the feedback: no traceback to build
        pytest.fail(f"{result.status}: {result.feedback}", pytrace=False)
