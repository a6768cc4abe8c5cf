"""The report object of the grading contract (../spec/report.md), as dataclasses."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.checks.core import CaseResult, ExerciseResult


@dataclass
class SubmissionReport:
    submission: str
    assignment: str
    score: float
    max_score: float
    exercises: list[ExerciseResult]
    # beyond the contract's fields, for reproducing and trusting the run
    seed: int | None = None
    public_only: bool = False
    sandbox: str = "bubblewrap"
    error: str | None = None  # why the submission could not be read at all
    # what a re-run compares to skip work already done (grader.batch.Fingerprint)
    sha256: str = ""
    grader_version: str = ""
    lang: str = "en"

    def to_json(self) -> dict:
        data = {"submission": self.submission, "assignment": self.assignment,
                "score": round(self.score, 2), "max_score": self.max_score,
                "exercises": [exercise_json(e) for e in self.exercises],
                "seed": self.seed, "public_only": self.public_only, "sandbox": self.sandbox,
                "sha256": self.sha256, "grader_version": self.grader_version,
                "lang": self.lang}
        if self.error:
            data["error"] = self.error
        return data


def exercise_json(result: ExerciseResult) -> dict:
    return {"name": result.name, "score": result.score, "max_score": result.max_score,
            "status": result.status, "diagnosis": list(result.diagnosis),
            "feedback": result.feedback,
            "cases": [{"name": c.name, "passed": c.passed, "feedback": c.feedback,
                       "public": c.public}
                      for c in result.cases]}


def exercise_from_json(e: dict) -> ExerciseResult:
    """An exercise read back from its JSON (cases keep only passed/failed, not their score)."""
    return ExerciseResult(e["name"], e["score"], e["max_score"], e["status"],
                          list(e["diagnosis"]), e["feedback"],
                          [CaseResult(c["name"], c["public"], float(c["passed"]),
                                      feedback=c["feedback"]) for c in e["cases"]])


def report_from_json(data: dict) -> SubmissionReport:
    exercises = [exercise_from_json(e) for e in data["exercises"]]
    fields = ("seed", "public_only", "sandbox", "error", "sha256", "grader_version", "lang")
    return SubmissionReport(data["submission"], data["assignment"], data["score"],
                            data["max_score"], exercises,
                            **{k: data[k] for k in fields if k in data})


def report_to_wire(report: SubmissionReport) -> dict:
    """A whole report, losslessly, to cross from a grading process to the CLI."""
    return asdict(report)


def report_from_wire(data: dict) -> SubmissionReport:
    exercises = [exercise_from_wire(e) for e in data["exercises"]]
    return SubmissionReport(**dict(data, exercises=exercises))


def exercise_to_wire(result: ExerciseResult) -> dict:
    """An exercise result, losslessly, to cross from a pytest worker to the CLI."""
    return asdict(result)


def exercise_from_wire(data: dict) -> ExerciseResult:
    return ExerciseResult(**dict(data, cases=[CaseResult(**case) for case in data["cases"]]))


def build(submission: str, assignment: str, exercises: list[ExerciseResult], **extra
          ) -> SubmissionReport:
    return SubmissionReport(submission, assignment,
                            score=round(sum(e.score for e in exercises), 2),
                            max_score=round(sum(e.max_score for e in exercises), 2),
                            exercises=exercises, **extra)
