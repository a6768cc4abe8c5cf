"""A report as Gradescope's autograder ``results.json``.

One test per exercise, with its score, then one test per case (pass/fail
only: the per-case credit is partial and the exercise's test already holds
it, so the cases carry no points and nothing is counted twice). The
top-level ``score`` is the report's score, which Gradescope uses as is.

Visibility: public cases are ``visible``; hidden cases, and an exercise's
test when its score includes hidden cases, are ``after_published``, so a
student sees the hidden results only once grades are published.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

VISIBLE, AFTER_PUBLISHED = "visible", "after_published"


def is_public(case: dict) -> bool:
    return bool(case["public"])


def results_json(report: dict) -> dict:
    tests = []
    for exercise in report["exercises"]:
        tests.append(exercise_test(exercise))
        tests.extend(case_test(exercise, case) for case in exercise["cases"])
    return {"score": report["score"], "max_score": report["max_score"],
            "output": summary(report), "output_format": "md", "tests": tests}


def exercise_test(exercise: dict) -> dict:
    hidden = any(not is_public(case) for case in exercise["cases"])
    lines = [f"**{exercise['status']}**: {exercise['score']:g} / {exercise['max_score']:g}"]
    if exercise["diagnosis"]:
        lines.append("Diagnosis: " + ", ".join(f"`{code}`" for code in exercise["diagnosis"]))
    if exercise["feedback"]:
        lines.append(_escape(exercise["feedback"]))
    return {"name": exercise["name"], "score": exercise["score"],
            "max_score": exercise["max_score"],
            "status": "passed" if exercise["status"] == "passed" else "failed",
            "visibility": AFTER_PUBLISHED if hidden else VISIBLE,
            "output": "\n\n".join(lines), "output_format": "md"}


def case_test(exercise: dict, case: dict) -> dict:
    output = _escape(case["feedback"]) if case["feedback"] else (
        "Passed." if case["passed"] else "Failed.")
    return {"name": f"{exercise['name']}: {case['name']}",
            "status": "passed" if case["passed"] else "failed",
            "visibility": VISIBLE if is_public(case) else AFTER_PUBLISHED,
            "output": output, "output_format": "md"}


def summary(report: dict) -> str:
    lines = [f"**{report['assignment']}**: {report['score']:g} / {report['max_score']:g}"]
    if report.get("error"):
        lines.append(f"Your code could not be read: {_escape(report['error'])}")
    if report.get("sandbox") == "none":
        lines.append("(graded without a sandbox)")
    return "\n\n".join(lines)


def _escape(text: str) -> str:
    """Feedback is plain text; keep markdown from reading ``*`` or ``_`` as emphasis."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def sanitised_name(submission: str) -> str:
    """``/x/alice.py`` -> ``alice``; ``carol/`` -> ``carol``; safe as a folder name."""
    path = Path(submission.rstrip("/\\") or "submission")
    stem = path.stem if path.suffix in (".py", ".ipynb") else path.name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "submission"


def write_results(reports: list[dict], folder: Path) -> dict[str, Path]:
    """``folder/<name>/results.json`` per report; returns submission -> path."""
    written, taken = {}, set()
    for report in reports:
        name = base = sanitised_name(report["submission"])
        count = 1
        while name in taken:  # two alice.py from different folders
            count += 1
            name = f"{base}_{count}"
        taken.add(name)
        path = folder / name / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results_json(report), indent=1), encoding="utf-8")
        written[report["submission"]] = path
    return written
