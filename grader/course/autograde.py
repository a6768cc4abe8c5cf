"""``python -m grader.course.autograde A``: ``nbgrader autograde A``, after repairing a killed run.

nbgrader decides whether a submission still needs grading by whether its
folder ``autograded/<student>/<A>/`` exists. A run that dies while it grades a
student (``kill -9``, the OOM killer, a reboot) leaves that folder behind
holding ``timestamp.txt`` and perhaps the sanitised notebook, not yet graded;
a plain re-run then says "Skipping existing assignment" and that student keeps
no score (``None`` in the gradebook, 0 in ``nbgrader export``), while
``--force`` grades the whole class again. Grades committed before the kill are
safe: nbgrader commits each test cell's score, and writes the autograded
notebook last.

Run in the course directory (or with ``--course``), this command:

1. takes the course's autograde lock (``.autograde.lock``): a second run of
   this command waits for the first;
2. finds the incomplete autograded submissions of ``A``: a folder whose
   notebook is missing, unreadable (cut short) or has a test cell with no
   score (no output and never executed);
3. removes those folders, as nbgrader itself does with a submission it failed
   to grade;
4. grades the notebooks still to grade in one batch run (``--jobs``, the
   course's seed) into ``.grader/A.jsonl``, where ``TrustedGrade`` finds each
   report instead of starting the grader once per notebook;
5. runs ``nbgrader autograde A [NBGRADER_ARGS]``, which grades exactly those
   and any not graded yet, and leaves every complete one as it is;
6. names the submissions still not graded (an unreadable notebook, say) and
   exits with nbgrader's status.

    python -m grader.course.autograde 02_chain_rule [--course DIR] [--student GLOB] [--jobs N] \\
        [--check] [-- NBGRADER_AUTOGRADE_ARGS ...]

``--check`` only lists incomplete submissions (exit 1 if there are any).
Do not run it while a plain ``nbgrader autograde`` of the same assignment is
running outside this command: that run's current student looks incomplete.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.course.build import nbgrader_bin, nbgrader_env

LOCK_FILE = ".autograde.lock"


@dataclass(frozen=True)
class Layout:
    """Where nbgrader keeps a course's steps (CourseDirectory of its config)."""

    root: Path
    source: str = "source"
    submitted: str = "submitted"
    autograded: str = "autograded"

    @classmethod
    def of(cls, course: Path) -> "Layout":
        """The layout that ``course/nbgrader_config.py`` sets (nbgrader's defaults else)."""
        course = Path(course).resolve()
        section = course_config(course).get("CourseDirectory", {})
        return cls(course, **{name: section[f"{name}_directory"]
                              for name in ("source", "submitted", "autograded")
                              if f"{name}_directory" in section})

    def step(self, step: str, student: str, assignment: str) -> Path:
        return self.root / step / student / assignment


def scored(cell) -> bool:
    """Has this autograded test cell been graded? (nbgrader clears outputs first.)"""
    return bool(cell.get("outputs")) or cell.get("execution_count") is not None


def notebook_problem(path: Path) -> str | None:
    """Why the autograded notebook ``path`` is not a finished one, or None."""
    if not path.exists():
        return "its autograded notebook is missing"
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "its autograded notebook is cut short"
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution") \
                and not scored(cell):
            return f"test cell {meta.get('grade_id', '?')} has no score"
    return None


def notebooks_of(layout: Layout, assignment: str) -> set[str]:
    """The assignment's notebooks (those nbgrader grades: in the source folder)."""
    return {p.stem for p in (layout.root / layout.source / assignment).glob("*.ipynb")}


def submitted_students(layout: Layout, assignment: str, student: str = "*") -> list[str]:
    folder = layout.root / layout.submitted
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if (p / assignment).is_dir() and fnmatch.fnmatchcase(p.name, student))


def incomplete(course: Path, assignment: str, student: str = "*") -> dict[str, str]:
    """Students whose ``autograded/<student>/<assignment>/`` a run left unfinished, and why."""
    layout = Layout.of(course)
    names = notebooks_of(layout, assignment)
    found = {}
    for name in submitted_students(layout, assignment, student):
        folder = layout.step(layout.autograded, name, assignment)
        if not folder.exists():
            continue  # not graded yet: nbgrader grades it
        handed_in = {p.stem for p in layout.step(layout.submitted, name, assignment)
                     .glob("*.ipynb")} & names
        for notebook in sorted(handed_in):
            why = notebook_problem(folder / f"{notebook}.ipynb")
            if why:
                found[name] = f"{notebook}: {why}"
                break
    return found


def not_graded(course: Path, assignment: str, student: str = "*") -> list[str]:
    """Students who handed ``assignment`` in but have no finished autograded copy."""
    layout = Layout.of(course)
    names = notebooks_of(layout, assignment)
    missing = []
    for name in submitted_students(layout, assignment, student):
        folder = layout.step(layout.autograded, name, assignment)
        handed_in = {p.stem for p in layout.step(layout.submitted, name, assignment)
                     .glob("*.ipynb")} & names
        if any(notebook_problem(folder / f"{n}.ipynb") for n in handed_in):
            missing.append(name)
    return missing


@contextlib.contextmanager
def course_lock(course: Path, log=print):
    """One run of this command at a time per course (an advisory lock, released on exit)."""
    with open(Path(course) / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another autograde run in {course} to finish ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pregrade(course: Path, assignment: str, students: list[str], jobs: int = 2,
             log=print) -> None:
    """Grade the students' handed-in notebooks in one batch run, for TrustedGrade to find.

    nbgrader grades one notebook at a time, and ``TrustedGrade`` would start
    the grader (torch, pytest, a sandbox) for each: seconds per student.
    Graded here all at once (``python -m grader grade ... --jobs N --resume``,
    the course's seed), each report lands in ``.grader/<A>.jsonl``, where
    ``TrustedGrade`` finds it by the notebook's graded code. A notebook the
    batch did not grade, or whose code nbgrader changed, is graded on its own.
    """
    from grader.course.nbgrader_plugins import TrustedGrade, graded_as

    layout = Layout.of(course)
    by_name: dict[str, list[str]] = {}  # graded as (TrustedGrade's rule) -> notebooks
    for notebook in sorted(notebooks_of(layout, assignment)):
        for student in students:
            path = layout.step(layout.submitted, student, assignment) / f"{notebook}.ipynb"
            if path.exists():
                by_name.setdefault(graded_as(notebook, assignment), []).append(str(path))
    trusted = TrustedGrade(config=course_config(course))
    seed = trusted.grading_seed(Path(course))
    for graded_as, paths in by_name.items():
        out = course / trusted.batch_reports.format(assignment=graded_as)
        out.parent.mkdir(parents=True, exist_ok=True)
        log(f"grading {len(paths)} notebooks of {graded_as} in one batch ...")
        done = subprocess.run([sys.executable, "-m", "grader", "grade", graded_as, *paths,
                               "--json", str(out), "--seed", str(seed), "--jobs", str(jobs),
                               "--resume"], cwd=course, env=nbgrader_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            log(f"the batch run failed ({done.stderr.strip()[-300:]}); "
                "nbgrader's run grades each notebook on its own")


def course_config(course: Path):
    """The course's nbgrader_config.py, loaded (empty if it has none)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(course) / "nbgrader_config.py"
    if not config_file.exists():
        return Config()
    return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()


@dataclass
class Outcome:
    returncode: int
    repaired: dict  # student -> why its folder was removed and graded again
    not_graded: list  # students with a submission and still no finished autograded copy
    output: str | None = None  # nbgrader's output, when captured


def autograde(course: Path, assignment: str, nbgrader_args=(), student: str | None = None,
              db_url: str | None = None, capture: bool = False, log=print,
              timeout: float | None = None, jobs: int = 2) -> Outcome:
    """Repair what a killed run left, then ``nbgrader autograde`` (see the module doc)."""
    course = Path(course).resolve()
    args = ["autograde", assignment, *nbgrader_args]
    if student:
        args.append(f"--student={student}")
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    layout = Layout.of(course)
    with course_lock(course, log):
        repaired = incomplete(course, assignment, student or "*")
        for name, why in repaired.items():
            log(f"{name}/{assignment}: a run stopped half way ({why}); grading it again")
            shutil.rmtree(layout.step(layout.autograded, name, assignment))
        force = "--force" in nbgrader_args or "-f" in nbgrader_args
        todo = [name for name in submitted_students(layout, assignment, student or "*")
                if force or not layout.step(layout.autograded, name, assignment).exists()]
        if todo and jobs:
            pregrade(course, assignment, todo, jobs, log)
        done = subprocess.run([nbgrader_bin(), *args], cwd=course, env=nbgrader_env(),
                              text=True, timeout=timeout,
                              **({"capture_output": True} if capture else {}))
        left = not_graded(course, assignment, student or "*")
    for name in left:
        log(f"{name}/{assignment}: not graded (see nbgrader's log)")
    output = (done.stdout or "") + (done.stderr or "") if capture else None
    return Outcome(done.returncode, repaired, left, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.course.autograde",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--course", default=".", help="course directory (default: here)")
    parser.add_argument("--student", help="only students matching this glob (nbgrader's "
                                          "--student)")
    parser.add_argument("--db-url", help="gradebook URL (default: the course's "
                                         "config, i.e. $GRADER_DB_URL or gradebook.db)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="grading processes of the batch run before nbgrader's "
                             "(default: one per core; 0: no batch run)")
    parser.add_argument("--check", action="store_true",
                        help="only list incomplete autograded submissions (exit 1 if any)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # for nbgrader autograde
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    course = Path(args.course)
    if not (course / "nbgrader_config.py").exists():
        print(f"error: {course.resolve()} is not a course directory (no nbgrader_config.py)",
              file=sys.stderr)
        return 2
    if args.check:
        found = incomplete(course, args.assignment, args.student or "*")
        for name, why in found.items():
            print(f"{name}/{args.assignment}: incomplete ({why})")
        return 1 if found else 0
    outcome = autograde(course, args.assignment, extra, student=args.student,
                        db_url=args.db_url, log=lambda m: print(m, file=sys.stderr),
                        jobs=args.jobs)
    return outcome.returncode


if __name__ == "__main__":
    sys.exit(main())
