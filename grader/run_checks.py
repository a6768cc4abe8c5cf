"""The one test that grades: each (submission, exercises) pair is an item.

``exercises`` is one exercise, or, with ``--item-per-submission``, all of
them (see grader.pytest_plugin).
"""
from __future__ import annotations

import json

import pytest

from grader.checks.core import ExerciseResult
from grader.report.model import exercise_to_wire


def test_exercise(submission, exercises, grading, request):
    sink = getattr(request.config, "grader_sink", None)
    unfinished = []
    for exercise in exercises:
        if submission.sandbox is None:  # unreadable: every exercise says why
            result = ExerciseResult(exercise.name, 0.0, exercise.points, "error", ["exception"],
                                    submission.loaded.error, [])
        else:
            result = exercise.grade(submission.sandbox, grading.seed, grading.public_only)
        if sink is not None:  # grader.batch in this process: the result as it is
            sink(submission.index, result)
        else:  # any other run (xdist workers included): as data in the item's report
            request.node.user_properties.append(("grader_result", json.dumps(
                {"submission": submission.index, "result": exercise_to_wire(result)})))
        if result.status != "passed":
            unfinished.append(f"{exercise.name}: {result.status}: {result.feedback}")
    # every exercise graded: a failure of this item from here on is a verdict, not a crash
    request.node.user_properties.append(("grader_done", True))
    if unfinished:  # the verdict is in the feedback: no traceback to build
        pytest.fail("\n".join(unfinished), pytrace=False)
