"""One assignment's reports as a CSV gradebook: a row per submission.

Columns: ``submission``, one per exercise (its score), ``total`` and
``max_score``. Exercises are in the order the reports list them (the
curriculum's order).
"""
from __future__ import annotations

import csv
from pathlib import Path


def exercise_names(reports: list[dict]) -> list[str]:
    """Every exercise named in any report, in first-seen order."""
    names: dict[str, None] = {}
    for report in reports:
        for exercise in report["exercises"]:
            names.setdefault(exercise["name"], None)
    return list(names)


def write_csv(reports: list[dict], path: Path) -> Path:
    names = exercise_names(reports)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["submission", *names, "total", "max_score"])
        for report in reports:
            scores = {e["name"]: e["score"] for e in report["exercises"]}
            writer.writerow([report["submission"], *(_number(scores.get(n, "")) for n in names),
                             _number(report["score"]), _number(report["max_score"])])
    return path


def _number(value):
    """2.0 -> 2, 6.67 -> 6.67: what a spreadsheet shows anyway."""
    return f"{value:g}" if isinstance(value, (int, float)) else value
