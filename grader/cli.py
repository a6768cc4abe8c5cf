"""``python -m grader``: the command line of the grading contract.

    python -m grader grade ASSIGNMENT SUBMISSION [SUBMISSION ...]
                           [--json PATH] [--public] [--seed N] [--jobs N] [--lang en|zh_CN]

Grading is a pytest run (``run_checks.py`` with ``pytest_plugin``); this
module builds that run's arguments, collects each item's result, and writes
the table and the JSON Lines report. Exit status: 0 when every submission
was graded, 2 for a bad call, 1 when the grader itself failed.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from grader import i18n
from grader.checks.core import ASSIGNMENTS, checks_for
from grader.i18n import _
from grader.report.model import SubmissionReport, build, exercise_from_wire
from grader.report.table import print_reports

PACKAGE = Path(__file__).resolve().parent


class BadCall(Exception):
    """A usage error: exit 2 with one line."""


class ResultCollector:
    """A pytest plugin object that gathers what every grading item recorded."""

    def __init__(self):
        self.results: dict[int, dict] = {}
        self.failures: list[str] = []

    def pytest_runtest_logreport(self, report):
        recorded = [v for k, v in report.user_properties if k == "grader_result"]
        if report.when == "call" and recorded:
            data = json.loads(recorded[-1])
            result = exercise_from_wire(data["result"])
            self.results.setdefault(data["submission"], {})[result.name] = result
        elif report.failed:
            self.failures.append(f"{report.nodeid} ({report.when}): {report.longreprtext[-2000:]}")

    def pytest_collectreport(self, report):
        if report.failed:
            self.failures.append(f"collecting {report.nodeid}: {report.longreprtext[-2000:]}")


def grade(assignment: str, submissions: list[str], *, seed: int | None, public_only: bool,
          jobs: int = 1, lang: str = "en") -> list[SubmissionReport]:
    """Grade submissions through pytest; raise RuntimeError if the grader failed.

    ``lang`` is the language of the feedback (``en`` or ``zh_CN``); it reaches
    the pytest run, and every xdist worker, as ``--grader-lang``.
    """
    from grader.sandbox.runner import isolation

    if seed is None and not public_only:
        seed = secrets.randbelow(2**31)
    args = [str(PACKAGE / "run_checks.py"), "-c", str(PACKAGE / "grading.ini"),
            "--rootdir", str(PACKAGE), "--noconftest", "-p", "grader.pytest_plugin",
            "-p", "no:terminal", "--assignment", assignment,
            "--grader-lang", i18n.normalise(lang) or i18n.DEFAULT]
    for path in submissions:
        args += ["--submission", path]
    args += ["--public-only"] if public_only else ["--grading-seed", str(seed)]
    if jobs > 1 and len(submissions) > 1:
        args += ["-p", "xdist", "-n", str(min(jobs, len(submissions))), "--dist", "loadgroup"]
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no plugin but the grader's
    import pytest

    collector = ResultCollector()
    code = pytest.main(args, plugins=[collector])
    names = [check.name for check in checks_for(assignment)]
    missing = [(i, n) for i in range(len(submissions)) for n in names
               if n not in collector.results.get(i, {})]
    if code not in (0, 1) or missing or collector.failures:
        detail = "; ".join(collector.failures[:3]) or f"pytest exited with {code}"
        raise RuntimeError(f"the grader failed: {len(missing)} results missing: {detail}")
    reports = []
    for index, path in enumerate(submissions):
        exercises = [collector.results[index][n] for n in names]
        unreadable = {e.feedback for e in exercises if e.status == "error" and not e.cases}
        reports.append(build(path, assignment, exercises, seed=None if public_only else seed,
                             public_only=public_only, sandbox=isolation(),
                             error=unreadable.pop() if unreadable else None))
    return reports


def _language(value: str) -> str:
    chosen = i18n.normalise(value)
    if chosen is None:
        raise argparse.ArgumentTypeError(f"no feedback in {value!r}; one of "
                                         f"{', '.join(i18n.LANGUAGES)}")
    return chosen


def _add_lang(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lang", type=_language, default=None, metavar="{en,zh_CN}",
                         help="language of the feedback (default: $GRADER_LANG, else the "
                              "locale's, $LANGUAGE, $LC_ALL, $LANG: zh* gives zh_CN; else en)")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grader",
                                     description="Grade backprop exercises against torch.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade_cmd = commands.add_parser("grade", help="grade submissions of one assignment")
    grade_cmd.add_argument("assignment")
    grade_cmd.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    grade_cmd.add_argument("--json", metavar="PATH", help="write JSON Lines here ('-': stdout)")
    grade_cmd.add_argument("--public", action="store_true", help="public cases only")
    grade_cmd.add_argument("--seed", type=int, help="seed of the randomised cases")
    grade_cmd.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    _add_lang(grade_cmd)
    check_cmd = commands.add_parser("check", help="a student's self-check: public cases only")
    check_cmd.add_argument("assignment")
    check_cmd.add_argument("target", nargs="+", metavar="[EXERCISE] SUBMISSION",
                           help="an exercise name (optional), then one submission")
    _add_lang(check_cmd)
    args = parser.parse_args(argv)
    if args.lang is None:
        args.lang = i18n.default_language()
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    i18n.set_language(args.lang)
    try:
        return run_check(args) if args.command == "check" else run_grade(args)
    except BadCall as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run_grade(args: argparse.Namespace) -> int:
    if args.assignment not in ASSIGNMENTS:
        raise BadCall(f"unknown assignment {args.assignment!r}; one of {', '.join(ASSIGNMENTS)}")
    for path in args.submissions:
        if not os.path.exists(path):
            raise BadCall(f"no such file or folder: {path}")
    if args.jobs < 1:
        raise BadCall("--jobs must be at least 1")
    reports = grade(args.assignment, args.submissions, seed=args.seed, public_only=args.public,
                    jobs=args.jobs, lang=args.lang)
    table_stream = sys.stderr if args.json == "-" else sys.stdout
    print_reports(reports, table_stream)
    if args.json:
        lines = "".join(json.dumps(r.to_json()) + "\n" for r in reports)
        if args.json == "-":
            sys.stdout.write(lines)
            sys.stdout.flush()
        else:
            _write_atomically(Path(args.json), lines)
    return 0


def _write_atomically(path: Path, text: str) -> None:
    """A report is written whole or not at all."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def run_check(args: argparse.Namespace) -> int:
    """``check ASSIGNMENT [EXERCISE] SUBMISSION``: public cases, readable feedback."""
    if args.assignment not in ASSIGNMENTS:
        raise BadCall(f"unknown assignment {args.assignment!r}; one of {', '.join(ASSIGNMENTS)}")
    if len(args.target) > 2:
        raise BadCall("check takes ASSIGNMENT [EXERCISE] SUBMISSION")
    exercise, path = (None, args.target[0]) if len(args.target) == 1 else args.target
    names = [check.name for check in checks_for(args.assignment)]
    if exercise is not None and exercise not in names:
        raise BadCall(f"{args.assignment} has no exercise {exercise!r}; one of {', '.join(names)}")
    if not os.path.exists(path):
        raise BadCall(f"no such file or folder: {path}")
    report = grade(args.assignment, [path], seed=None, public_only=True, lang=args.lang)[0]
    if report.error:
        print(_("Your code could not be read: {error}").format(error=report.error))
    shown = [e for e in report.exercises if exercise is None or e.name == exercise]
    for result in shown:
        mark = {"passed": "OK", "partial": "PARTLY"}.get(result.status, result.status.upper())
        print(_("[{mark}] {name}: {score} / {max_score} on the public cases ({status})").format(
            mark=mark, name=result.name, score=f"{result.score:g}",
            max_score=f"{result.max_score:g}", status=result.status))
        if result.diagnosis:
            print("    " + _("diagnosis: {codes}").format(codes=", ".join(result.diagnosis)))
        failed = [case for case in result.cases if not case.passed]
        for case in failed:
            print("    " + _("failed {case}: {feedback}").format(case=case.name,
                                                                feedback=case.feedback))
        if result.feedback and result.status != "passed" and not failed:
            print(f"    {result.feedback}")
    print(_("Only the public cases ran here; hidden cases are graded later, "
            "so this is not your grade."))
    return 0
