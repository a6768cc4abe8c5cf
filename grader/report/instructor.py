"""The instructor's view of a graded class, from the grader's JSON Lines reports.

    python -m grader.report.instructor REPORTS.jsonl [REPORTS.jsonl ...] --out DIR

Per assignment found in the reports, it writes:

    DIR/<assignment>.html            the class page (jinja2), with its plots:
    DIR/<assignment>_scores.png        score distribution
    DIR/<assignment>_pass_rates.png    per-exercise pass rates
    DIR/<assignment>.csv             a row per submission, a column per exercise
    DIR/gradescope/<assignment>/<submission>/results.json

This module reads the reports, counts, plots and renders; the CSV and the
Gradescope files are ``csv_export`` and ``gradescope``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import jinja2

from grader.report import gradescope
from grader.report.csv_export import exercise_names, write_csv

TEMPLATES = Path(__file__).resolve().parent / "templates"
PROBLEM_STATUSES = ("timeout", "error", "forbidden")
TOP_DIAGNOSES = 5  # per exercise, in the table


# -- reading ----------------------------------------------------------------------

def read_reports(paths: list[Path]) -> dict[str, list[dict]]:
    """All reports of all files, by assignment, in the order read."""
    by_assignment: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                report = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON report ({error})") from None
            by_assignment[report["assignment"]].append(report)
    return dict(by_assignment)


# -- counting ---------------------------------------------------------------------

@dataclass
class DiagnosisRow:
    exercise: str
    code: str
    count: int
    share: float  # of the class
    example: str  # one submission's feedback for it

    @property
    def sentence(self) -> str:
        return f"{self.share:.0%} {self.code} in {self.exercise}"


@dataclass
class ExerciseRow:
    name: str
    max_score: float
    pass_rate: float
    mean_score: float
    statuses: dict[str, int]


@dataclass
class Problem:
    submission: str
    exercise: str
    status: str
    feedback: str


def exercise_rows(reports: list[dict]) -> list[ExerciseRow]:
    rows = []
    for name in exercise_names(reports):
        results = [e for r in reports for e in r["exercises"] if e["name"] == name]
        rows.append(ExerciseRow(
            name, max(e["max_score"] for e in results),
            pass_rate=sum(e["status"] == "passed" for e in results) / len(reports),
            mean_score=sum(e["score"] for e in results) / len(reports),
            statuses=dict(Counter(e["status"] for e in results).most_common())))
    return rows


def diagnosis_rows(reports: list[dict], top: int = TOP_DIAGNOSES) -> list[DiagnosisRow]:
    """The most common diagnoses per exercise, each submission counted once per code."""
    counts: dict[str, Counter] = defaultdict(Counter)
    examples: dict[tuple[str, str], str] = {}
    for report in reports:
        for exercise in report["exercises"]:
            for code in dict.fromkeys(exercise["diagnosis"]):
                counts[exercise["name"]][code] += 1
                examples.setdefault((exercise["name"], code), exercise["feedback"])
    rows = [DiagnosisRow(name, code, count, count / len(reports), examples[name, code])
            for name, counter in counts.items() for code, count in counter.most_common(top)]
    return sorted(rows, key=lambda row: (-row.count, row.exercise, row.code))


def problems(reports: list[dict]) -> list[Problem]:
    """Submissions that could not be read, timed out, crashed or used a forbidden library."""
    found = []
    for report in reports:
        if report.get("error"):
            found.append(Problem(report["submission"], "(whole submission)", "unreadable",
                                 report["error"]))
            continue
        found += [Problem(report["submission"], e["name"], e["status"], e["feedback"])
                  for e in report["exercises"] if e["status"] in PROBLEM_STATUSES]
    return found


# -- plotting ---------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scores(reports: list[dict], path: Path) -> Path:
    plt = _pyplot()
    maximum = max(r["max_score"] for r in reports) or 1.0
    figure, axes = plt.subplots(figsize=(7, 3.2), dpi=100)
    axes.hist([r["score"] for r in reports], bins=20, range=(0, maximum),
              color="#3b6ea5", edgecolor="white")
    axes.set(xlabel=f"score (of {maximum:g})", ylabel="submissions",
             title=f"Score distribution ({len(reports)} submissions)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_pass_rates(rows: list[ExerciseRow], path: Path) -> Path:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2), dpi=100)
    names = [row.name for row in rows][::-1]
    axes.barh(names, [row.mean_score / row.max_score * 100 for row in rows][::-1],
              color="#c8d6e8", label="mean score")
    axes.barh(names, [row.pass_rate * 100 for row in rows][::-1], height=0.45,
              color="#3b6ea5", label="passed")
    axes.set(xlim=(0, 100), xlabel="% of the class", title="Per-exercise results")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


# -- the page ---------------------------------------------------------------------

def render_page(assignment: str, reports: list[dict], plots: dict[str, str]) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    scores = sorted(r["score"] for r in reports)
    return environment.get_template("instructor.html").render(
        assignment=assignment, count=len(reports), max_score=reports[0]["max_score"],
        mean=sum(scores) / len(scores), median=scores[len(scores) // 2],
        full_marks=sum(r["score"] >= r["max_score"] for r in reports),
        seeds=sorted({str(r.get("seed")) for r in reports}),
        unsandboxed=sum(r.get("sandbox") == "none" for r in reports),
        public_only=any(r.get("public_only") for r in reports),
        exercises=exercise_rows(reports), diagnoses=diagnosis_rows(reports),
        problems=problems(reports), plots=plots)


def write_assignment(assignment: str, reports: list[dict], out: Path) -> Path:
    plots = {"scores": plot_scores(reports, out / f"{assignment}_scores.png").name,
             "pass_rates": plot_pass_rates(exercise_rows(reports),
                                           out / f"{assignment}_pass_rates.png").name}
    page = out / f"{assignment}.html"
    page.write_text(render_page(assignment, reports, plots), encoding="utf-8")
    write_csv(reports, out / f"{assignment}.csv")
    gradescope.write_results(reports, out / "gradescope" / assignment)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.report.instructor",
                                     description="A class page, CSV and Gradescope results "
                                                 "from the grader's JSON Lines reports.")
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORTS.jsonl")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    args = parser.parse_args(argv)
    try:
        by_assignment = read_reports(args.reports)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not by_assignment:
        print("error: no reports in the given files", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for assignment, reports in sorted(by_assignment.items()):
        page = write_assignment(assignment, reports, args.out)
        print(f"{assignment}: {len(reports)} submissions -> {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
