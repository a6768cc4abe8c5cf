"""``python -m grader.demo``: the whole nbgrader course, end to end, on a sample class.

In a fresh temporary course directory it runs the real nbgrader commands:

1. ``nbgrader generate_assignment`` for the four assignments (the release);
2. builds a sample class's submitted notebooks from the release notebooks:
   answer cells filled with the reference solution, with catalogued bugs
   (tests/catalogue) or left as stubs; one student tampers (patches
   ``np.allclose``, redefines ``self_check``, edits and deletes test cells),
   one hands in a corrupt notebook, one never submits an assignment;
3. places them in ``submitted/<student>/<assignment>/`` as ``nbgrader collect``
   does;
4. ``nbgrader autograde`` (scores from the trusted grader, see
   ``grader.course.nbgrader_plugins``), ``nbgrader generate_feedback``,
   ``nbgrader export``;
5. prints the class table and where the feedback pages and the CSV are.

    python -m grader.demo [--course DIR] [--seed N] [--db-url URL]

The gradebook is nbgrader's default SQLite file, ``gradebook.db`` in the course
directory, unless ``--db-url`` or ``$GRADER_DB_URL`` names another database
(an empty one), e.g. ``postgresql+psycopg2://grader@localhost/backprop``.
"""
from __future__ import annotations

import argparse
import html
import os
import secrets
import shutil
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course.build import COURSE_ASSIGNMENTS, generate_release, nbgrader, new_course, \
    solution_parts
from grader.course.autograde import pregrade
from grader.submission import is_test_cell
from grader.course.stubs import ROOT

CORRECT, STUB = "correct", "stub"
SEED_FILE = "grading_seed"


@dataclass(frozen=True)
class Student:
    """How a sample student fills each assignment's answer cells.

    ``plan(assignment, functions, bugs)`` gives, per function, ``CORRECT``,
    ``STUB`` or a bug's code; ``corrupt`` / ``missing`` name assignments handed
    in broken or not at all; ``tamper`` adds the cheating attempts.
    """

    name: str
    style: str
    corrupt: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    tamper: bool = False

    def plan(self, functions: list[str], bugs: list) -> dict[str, str]:
        usable = [b for b in bugs if b.breaks in functions]
        plan = {f: CORRECT for f in functions}
        if self.style == "stubs_half":
            plan.update({f: STUB for f in functions[1::2]})
        elif self.style == "one_bug" and usable:
            plan[usable[0].breaks] = usable[0].code
        elif self.style == "many_bugs":
            for bug in usable[1::2]:
                plan.setdefault(bug.breaks, CORRECT)
                if plan[bug.breaks] == CORRECT:
                    plan[bug.breaks] = bug.code
            plan.update({f: STUB for f in functions[-2:] if plan[f] == CORRECT})
        elif self.style == "mostly_stubs":
            plan = {f: STUB for f in functions}
            plan[functions[0]] = CORRECT
            if usable:
                plan[usable[-1].breaks] = usable[-1].code
        elif self.style == "tamper":
            plan = {f: STUB for f in functions}
            plan[functions[0]] = CORRECT
        return plan


CLASS = (
    Student("ada", "correct"),
    Student("bo", "one_bug"),
    Student("chen", "stubs_half"),
    Student("dana", "many_bugs"),
    Student("eli", "tamper", tamper=True),
    Student("fay", "one_bug", corrupt=("02_chain_rule",)),
    Student("gus", "mostly_stubs", missing=("04_optimization",)),
)

TAMPER_CODE = '''

# --- cheating attempts: none of this may change a score ---
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


def self_check(*args, **kwargs):
    return 1e9
'''


def bugs_of(assignment: str) -> list:
    """The catalogued bugs of an assignment (empty if the catalogue is absent)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from tests.catalogue import catalogue

        return list(catalogue(assignment)[0])
    except (ImportError, AttributeError):
        return []


def answer_name(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    grade_id = meta.get("grade_id", "")
    if meta.get("solution") and grade_id.endswith("_answer"):
        return grade_id[:-len("_answer")]
    return None


def student_notebook(release_nb: Path, assignment: str, student: Student
                     ) -> nbformat.NotebookNode:
    """A submitted notebook: the release notebook, answer cells filled per the plan."""
    notebook = nbformat.read(str(release_nb), as_version=4)
    imports, definitions = solution_parts(assignment)
    functions = [answer_name(c) for c in notebook.cells if answer_name(c)]
    plan = student.plan(functions, bugs_of(assignment))
    for index, cell in enumerate(notebook.cells):
        name = answer_name(cell)
        if name is None or plan[name] == STUB:
            continue
        code = definitions[name] if plan[name] == CORRECT else textwrap.dedent(plan[name]).strip()
        if name == functions[0]:
            code = f"{imports}\n\n\n{code}"
            if student.tamper:
                code += TAMPER_CODE
        cell.source = code
    if student.tamper:
        tests = [c for c in notebook.cells if is_test_cell(c)]
        if tests:
            tests[0].source = f"{tests[0].metadata['nbgrader']['points']}  # full marks, please"
        if len(tests) > 1:
            notebook.cells.remove(tests[-1])  # a deleted test cell
    return notebook


def submit_class(course: Path, students=CLASS, assignments=COURSE_ASSIGNMENTS
                 ) -> dict[tuple[str, str], str]:
    """Write every student's submission as ``nbgrader collect`` would; return the plan."""
    handed_in = {}
    for student in students:
        for assignment in assignments:
            if assignment in student.missing:
                handed_in[(student.name, assignment)] = "missing"
                continue
            folder = course / "submitted" / student.name / assignment
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{assignment}.ipynb"
            if assignment in student.corrupt:
                release = (course / "release" / assignment / f"{assignment}.ipynb").read_text()
                target.write_text(release[:len(release) // 3], encoding="utf-8")  # truncated
                handed_in[(student.name, assignment)] = "corrupt"
            else:
                notebook = student_notebook(course / "release" / assignment /
                                            f"{assignment}.ipynb", assignment, student)
                nbformat.write(notebook, str(target))
                handed_in[(student.name, assignment)] = student.style
            (folder / "timestamp.txt").write_text("2025-01-15 12:00:00.000000 UTC\n")
    return handed_in


@dataclass
class CourseRun:
    course: Path
    seed: int
    students: list[str]
    handed_in: dict
    #: (student, assignment) -> {exercise: gradebook score}; absent if not graded
    cell_scores: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)  # (student, assignment) -> (score, max)
    problems: dict = field(default_factory=dict)  # (student, assignment) -> message
    timings: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)
    db_url: str = ""  # the gradebook's SQLAlchemy URL ("" until run_course sets it)
    assignments: tuple = COURSE_ASSIGNMENTS

    def autograded(self, student: str, assignment: str) -> Path:
        return self.course / "autograded" / student / assignment / f"{assignment}.ipynb"

    def feedback(self, student: str, assignment: str) -> Path:
        return self.course / "feedback" / student / assignment / f"{assignment}.html"


def sqlite_url(course: Path) -> str:
    """nbgrader's default gradebook: ``gradebook.db`` in the course directory."""
    return f"sqlite:///{os.path.abspath(course / 'gradebook.db')}"


def shown_url(db_url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: nbgrader will say so
        return db_url


def _timed(run: CourseRun, label: str, *args: str, check: bool = True):
    start = time.perf_counter()
    # the course's gradebook, whatever $GRADER_DB_URL says in this environment
    done = nbgrader(run.course, *args, f"--CourseDirectory.db_url={run.db_url}", check=check)
    run.timings[label] = round(time.perf_counter() - start, 1)
    run.logs[label] = done.stderr
    return done


def run_course(course: Path, seed: int | None = None, students=CLASS, log=print,
               db_url: str | None = None, assignments=COURSE_ASSIGNMENTS) -> CourseRun:
    """Release, submit, autograde, feedback and export in ``course`` (made fresh).

    ``db_url``: the gradebook (default: SQLite ``gradebook.db`` in ``course``);
    ``assignments``: a part of the course only (default: all four).
    """
    new_course(course)
    seed = secrets.randbelow(2**31) if seed is None else seed
    (course / SEED_FILE).write_text(f"{seed}\n", encoding="utf-8")
    run = CourseRun(course, seed, [s.name for s in students], {},
                    db_url=db_url or sqlite_url(course), assignments=tuple(assignments))
    log(f"course directory: {course}  (grading seed {seed}, in {course / SEED_FILE})")
    if db_url:
        log(f"gradebook: {shown_url(db_url)}")
    for assignment in run.assignments:
        _timed(run, f"generate_assignment {assignment}", "generate_assignment", assignment,
               "--force")
    log("released: " + ", ".join(run.assignments))
    run.handed_in = submit_class(course, students, run.assignments)
    log(f"collected {sum(v != 'missing' for v in run.handed_in.values())} submissions "
        f"from {len(students)} students")
    for assignment in run.assignments:
        log(f"autograding {assignment} ...")
        handed_in = [s.name for s in students if run.handed_in.get((s.name, assignment))
                     not in (None, "missing")]
        began = time.perf_counter()  # the whole class in one grader run, for TrustedGrade
        pregrade(course, assignment, handed_in, jobs=os.cpu_count() or 1, log=log)
        run.timings[f"batch grading {assignment}"] = round(time.perf_counter() - began, 1)
        # exit 1 when some submission failed (a corrupt notebook): the rest are graded
        _timed(run, f"autograde {assignment}", "autograde", assignment, "--force", check=False)
    for assignment in run.assignments:
        _timed(run, f"generate_feedback {assignment}", "generate_feedback", assignment,
               "--force", check=False)
    _timed(run, "export", "export")
    collect_results(run)
    return run


def collect_results(run: CourseRun) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    from grader.submission import load

    with Gradebook(run.db_url, course_id="backprop") as gb:
        for (student, assignment), how in run.handed_in.items():
            if how == "missing":
                run.problems[(student, assignment)] = "not submitted"
                continue
            if not run.autograded(student, assignment).exists():
                submitted = run.course / "submitted" / student / assignment / f"{assignment}.ipynb"
                why = load(str(submitted), assignment).error or \
                    "nbgrader could not autograde it (see the autograde log)"
                run.problems[(student, assignment)] = why
                write_problem_page(run.feedback(student, assignment), student, assignment, why)
                continue
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                run.problems[(student, assignment)] = "no gradebook entry"
                continue
            run.totals[(student, assignment)] = (submission.score, submission.max_score)
            notebook = submission.notebooks[0]
            run.cell_scores[(student, assignment)] = {
                grade.name: grade.auto_score for grade in notebook.grades
                if not grade.name.endswith("_answer")}


def write_problem_page(path: Path, student: str, assignment: str, why: str) -> None:
    """Feedback for a submission nbgrader could not grade: say why, plainly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{assignment}</title></head>"
        f"<body><h1>{html.escape(assignment)}: {html.escape(student)}</h1>"
        f"<p>Your submission could not be graded: {html.escape(why)}</p>"
        "<p>Score: 0. Please hand in the notebook again (File &gt; Save, then submit).</p>"
        "</body></html>\n", encoding="utf-8")


def class_table(run: CourseRun) -> str:
    width = max(len(s) for s in run.students) + 2
    head = "student".ljust(width) + "".join(a.rjust(18) for a in run.assignments) + \
        "total".rjust(10)
    lines = [head, "-" * len(head)]
    for student in run.students:
        row, total = student.ljust(width), 0.0
        for assignment in run.assignments:
            key = (student, assignment)
            if key in run.totals:
                score, top = run.totals[key]
                total += score
                row += f"{score:g}/{top:g}".rjust(18)
            else:
                row += ("missing" if run.problems.get(key) == "not submitted"
                        else "unreadable").rjust(18)
        lines.append(row + f"{total:g}".rjust(10))
    return "\n".join(lines)


def not_an_empty_gradebook(db_url: str) -> str | None:
    """Why the demo may not use ``db_url`` (unreachable, or holds a class already), or None."""
    from sqlalchemy import create_engine, inspect, text

    try:
        engine = create_engine(db_url)
        try:
            with engine.connect() as connection:
                if "student" not in inspect(connection).get_table_names():
                    return None  # nbgrader makes its tables on first use
                students = connection.execute(text("SELECT count(*) FROM student")).scalar()
        finally:
            engine.dispose()
    except Exception as error:  # no driver, no server, bad credentials
        return f"cannot open the gradebook: {type(error).__name__}: {error}".strip()[:800]
    if students:
        return f"the gradebook already holds {students} students; the demo needs an empty database"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", help="course directory to make (default: a new temp dir)")
    parser.add_argument("--seed", type=int, help="grading seed (default: random, recorded)")
    parser.add_argument("--db-url", default=os.environ.get("GRADER_DB_URL", "").strip() or None,
                        help="gradebook, an SQLAlchemy URL of an empty database (default: "
                             "$GRADER_DB_URL, else SQLite gradebook.db in the course directory)")
    args = parser.parse_args(argv)
    if args.db_url:
        why = not_an_empty_gradebook(args.db_url)
        if why:
            print(f"error: {shown_url(args.db_url)}: {why}", file=sys.stderr)
            return 2
    course = Path(args.course) if args.course else \
        Path(tempfile.mkdtemp(prefix="backprop-course-")) / "course"
    if course.exists() and any(course.iterdir()):
        print(f"error: {course} is not empty", file=sys.stderr)
        return 2
    start = time.perf_counter()
    run = run_course(course, args.seed, db_url=args.db_url)
    print()
    print(class_table(run))
    print()
    for (student, assignment), why in sorted(run.problems.items()):
        print(f"  {student}/{assignment}: {why}")
    print()
    print(f"feedback pages: {course / 'feedback'}/<student>/<assignment>/<assignment>.html")
    print(f"grades CSV:     {course / 'grades.csv'}")
    gradebook = course / "gradebook.db" if run.db_url == sqlite_url(course) else \
        shown_url(run.db_url)
    print(f"gradebook:      {gradebook}  (grading seed {run.seed})")
    print("timings (s): " + ", ".join(f"{k} {v}" for k, v in run.timings.items()))
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
