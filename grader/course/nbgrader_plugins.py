"""nbgrader preprocessors of the course (configured in nbgrader_config.py).

``TrustedGrade`` takes the place of nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors``. nbgrader has already restored the
locked test cells from the gradebook (``OverwriteCells``, missing ones
added back); this preprocessor grades the notebook's answer cells once with
the course's grader (``python -m grader grade A NOTEBOOK --json - --seed N``,
a subprocess, student code inside the grader's sandbox) and replaces every
test cell's outputs with:

- a ``stdout`` stream: the exercise's status, score and feedback (public
  case details only; hidden cases' messages are redacted by the grader), which
  ``generate_feedback`` shows the student;
- an ``execute_result`` whose text is the exercise's score, clamped to
  [0, points]: nbgrader's ``SaveAutoGrades`` reads it as the cell's score.

So the gradebook's score for a test cell is exactly the report's score for
that exercise, whatever the student's code does (it never runs in nbgrader's
kernel: patching numpy or redefining ``self_check`` changes nothing).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer, Unicode

from grader.i18n import _
from grader.report.feedback import exercise_text
from grader.report.model import exercise_from_json
from grader.submission import is_test_cell

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def read_seed(path: Path) -> int:
    """The course's grading seed, made (randomly) on first use."""
    if not path.exists():
        path.write_text(f"{secrets.randbelow(2**31)}\n", encoding="utf-8")
    return int(path.read_text(encoding="utf-8").strip())


def graded_as(notebook_id: str, assignment: str) -> str:
    """The assignment a notebook is graded as: its own name if it is one, else the folder's."""
    from grader.checks.core import ASSIGNMENTS

    return notebook_id if notebook_id in ASSIGNMENTS else assignment


def grade_notebook(assignment: str, notebook_path: Path, seed: int, timeout: float) -> dict:
    """The grader's JSON report of one notebook (raises RuntimeError if it failed)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST") and k != "NBGRADER_EXECUTION"}
    done = subprocess.run([sys.executable, "-m", "grader", "grade", assignment,
                           str(notebook_path), "--json", "-", "--seed", str(seed)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the grader failed on {notebook_path.name} "
                           f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def feedback_text(exercise: dict | None, points: float, error: str | None) -> str:
    """A test cell's printed feedback: the grader's one renderer, every public case."""
    if exercise is None:
        why = error or _("the grader reported nothing for this exercise")
        return _("Score: 0 / {points}").format(points=f"{points:g}") + f"\n{why}\n"
    return exercise_text(exercise_from_json(exercise), passed_cases=True)


def clamp(score, points: float) -> float:
    try:
        value = float(score)
    except (TypeError, ValueError):
        return 0.0
    if value != value:  # NaN
        return 0.0
    return min(max(value, 0.0), points)


class TrustedGrade(Preprocessor):
    """Scores every test cell from the course's grader (see the module doc)."""

    enabled = Bool(True).tag(config=True)  # nbconvert's default is off

    seed = Integer(None, allow_none=True,
                   help="grading seed; default: read (or make) seed_file").tag(config=True)
    seed_file = Unicode("grading_seed",
                        help="file holding the grading seed, relative to the course "
                             "directory (nbgrader's working directory)").tag(config=True)
    timeout = Integer(1200, help="seconds the grader may take for one notebook").tag(config=True)
    batch_reports = Unicode(
        ".grader/{assignment}.jsonl",
        help="reports of a batch run over the submitted notebooks (python -m "
             "grader.course.autograde makes it, grading the class in one run); a notebook "
             "whose graded code, seed, options and grader version match one of them is not "
             "graded again. Relative to the course directory.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._indexes: dict = {}  # batch report file -> its ReportIndex, read once

    def grading_seed(self, course: Path = Path(".")) -> int:
        return self.seed if self.seed is not None else read_seed(course / self.seed_file)

    def _batch_report(self, assignment: str, notebook: Path, seed: int) -> dict | None:
        from grader import batch, i18n

        path = Path(self.batch_reports.format(assignment=assignment))
        if path not in self._indexes:
            self._indexes[path] = batch.ReportIndex(path)
        settings = batch.Settings(assignment, seed, False, i18n.default_language())
        return self._indexes[path].find(settings, batch.content_hash(str(notebook), assignment))

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        notebook_id = info.get("notebook", "")
        as_assignment = graded_as(notebook_id, info.get("assignment", ""))
        seed = self.grading_seed()
        with tempfile.TemporaryDirectory(prefix="trusted-grade-") as tmp:
            path = Path(tmp) / f"{as_assignment}.ipynb"
            nbformat.write(nb, str(path))
            report = self._batch_report(as_assignment, path, seed)
            how = "from the batch run"
            if report is None:
                report = grade_notebook(as_assignment, path, seed, self.timeout)
                how = "on its own"
        exercises = {e["name"]: e for e in report["exercises"]}
        error = report.get("error")
        self.log.info("Graded %s/%s with seed %d (%s): %s / %s", info.get("student"),
                      notebook_id, seed, how, report["score"], report["max_score"])
        for cell in nb.cells:
            if not is_test_cell(cell):
                continue
            meta = cell.metadata["nbgrader"]
            points = float(meta.get("points", 0))
            exercise = exercises.get(meta.get("grade_id"))
            score = clamp(exercise["score"], points) if exercise else 0.0
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout",
                                       text=feedback_text(exercise, points, error)),
                nbformat.v4.new_output("execute_result", data={"text/plain": repr(score)},
                                       execution_count=None),
            ]
            cell.execution_count = None
        resources.setdefault("trusted_grade", {})[notebook_id] = report
        return nb, resources


class ClearHiddenTests(Preprocessor):
    """Feedback never shows hidden tests: their source, or a traceback from them."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        kept, hiding = [], False
        for line in cell.source.splitlines():
            if line.strip().startswith(HIDDEN_BEGIN):
                hiding = True
                kept.append("# (hidden tests are not shown)")
            elif line.strip().startswith(HIDDEN_END):
                hiding = False
            elif not hiding:
                kept.append(line)
        cell.source = "\n".join(kept)
        cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
        return cell, resources
