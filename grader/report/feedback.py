"""An exercise's feedback as text: the one renderer of every view a person reads.

The JSON report holds the data (status, diagnosis, the summary sentence,
per-case feedback); the terminal table, ``python -m grader check`` (what the
notebook's self-check prints) and the test cells of nbgrader's feedback pages
all say it with these lines, in the current language, so they cannot drift
apart. Hidden cases are only ever counted, never described.
"""
from __future__ import annotations

from grader.checks.core import ExerciseResult
from grader.i18n import _

_MARKS = {"passed": "OK", "partial": "PARTLY"}


def headline(exercise: ExerciseResult, *, public_only: bool = False) -> str:
    mark = _MARKS.get(exercise.status, exercise.status.upper())
    if public_only:
        return _("[{mark}] {name}: {score} / {max_score} on the public cases ({status})").format(
            mark=mark, name=exercise.name, score=f"{exercise.score:g}",
            max_score=f"{exercise.max_score:g}", status=exercise.status)
    return _("[{mark}] {name}: {score} / {max_score} ({status})").format(
        mark=mark, name=exercise.name, score=f"{exercise.score:g}",
        max_score=f"{exercise.max_score:g}", status=exercise.status)


def detail_lines(exercise: ExerciseResult, *, passed_cases: bool = False) -> list[str]:
    """Diagnosis, summary, the public cases (failed ones, or all), the hidden count."""
    lines = []
    if exercise.diagnosis:
        lines.append(_("diagnosis: {codes}").format(codes=", ".join(exercise.diagnosis)))
    public = [case for case in exercise.cases if case.public]
    hidden = [case for case in exercise.cases if not case.public]
    failed = [case for case in public if not case.passed]
    summary = exercise.feedback or ""
    if any(case.name in summary for case in hidden):  # nothing of a hidden case's inputs
        summary = _("The first failure is a hidden case.")
    if summary and exercise.status != "passed" and not failed:  # else the cases say it
        lines.append(summary)
    for case in public if passed_cases else failed:
        if case.passed:
            lines.append("  " + _("[passed] {case}").format(case=case.name))
        else:
            lines.append("  " + _("[FAILED] {case}: {feedback}").format(
                case=case.name, feedback=case.feedback))
    if hidden:
        lines.append("  " + _("hidden cases: {passed} of {count} passed").format(
            passed=sum(case.passed for case in hidden), count=len(hidden)))
    return lines


def exercise_text(exercise: ExerciseResult, *, public_only: bool = False,
                  passed_cases: bool = False) -> str:
    return "\n".join([headline(exercise, public_only=public_only),
                      *detail_lines(exercise, passed_cases=passed_cases)]) + "\n"
