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
import dataclasses
import json
import os
import sys
from collections import Counter
from pathlib import Path

from grader import batch, i18n
from grader.checks.core import ASSIGNMENTS, checks_for
from grader.i18n import _
from grader.report.feedback import exercise_text
from grader.report.model import SubmissionReport, report_from_json
from grader.report.progress import ProgressBar
from grader.report.table import print_reports, print_summary


DETAIL_LIMIT = 10  # more submissions than this: the table has one row per submission


class BadCall(Exception):
    """A usage error: exit 2 with one line."""


def grade(assignment: str, submissions: list[str], *, seed: int | None, public_only: bool,
          jobs: int = 1, lang: str = "en") -> list[SubmissionReport]:
    """Grade submissions; raise RuntimeError if the grader failed."""
    return batch.grade(batch.Settings(assignment, seed, public_only, lang, jobs), submissions)


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
    grade_cmd.add_argument("--resume", action="store_true",
                           help="skip submissions that the --json file (or what a killed run "
                                "left of it) holds for the same content, grader version, seed "
                                "and options; the seed defaults to theirs")
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
        if not os.path.lexists(path):  # a dangling link is that submission's error, not the batch's
            raise BadCall(f"no such file or folder: {path}")
    if args.jobs < 1:
        raise BadCall("--jobs must be at least 1")
    if args.resume and args.json in (None, "-"):
        raise BadCall("--resume needs --json PATH: the file it resumes")
    settings = batch.Settings(args.assignment, args.seed, args.public, args.lang, args.jobs)
    journal = batch.Journal(Path(args.json)) if args.json not in (None, "-") else None
    hashes = [batch.content_hash(p, args.assignment) for p in args.submissions]
    kept = _already_graded(journal, settings, args.submissions, hashes) if args.resume else {}

    detailed = len(args.submissions) <= DETAIL_LIMIT
    shown: dict[int, SubmissionReport] = {}  # whole reports when detailed, else summaries
    to_stdout = _InOrder(len(args.submissions), sys.stdout) if args.json == "-" else None
    for index, line in kept.items():
        shown[index] = _from_line(line, detailed)
        if to_stdout:
            to_stdout.put(index, line)
    todo = [i for i in range(len(args.submissions)) if i not in kept]
    if journal:
        journal.open(list(kept.values()))

    # graded here, the checks are imported anyway; with --jobs only the grading processes
    # need them (and torch: 1.5 s of CPU), and the first report says how many there are
    exercises = len(checks_for(args.assignment)) if args.jobs == 1 else None
    bar = ProgressBar(len(todo) * exercises if exercises else (None if todo else 0), sys.stderr)

    def on_report(position: int, report: SubmissionReport) -> None:
        bar.expect(len(todo) * len(report.exercises))
        index = todo[position]
        if journal:
            journal.append(report)
        if to_stdout:
            to_stdout.put(index, json.dumps(report.to_json()))
        shown[index] = report if detailed else dataclasses.replace(report, exercises=[])

    if todo:
        with bar:
            batch.grade_each(settings, [args.submissions[i] for i in todo], on_report,
                             on_item=bar.advance, hashes=[hashes[i] for i in todo])
    if journal:
        journal.finish(args.submissions)
    table_stream = sys.stderr if args.json == "-" else sys.stdout
    ordered = [shown[i] for i in range(len(args.submissions))]
    (print_reports if detailed else print_summary)(ordered, table_stream)
    if kept:
        print(_("{count} submissions already graded the same way were skipped "
                "(--resume)").format(count=len(kept)), file=sys.stderr)
    return 0


def _already_graded(journal: batch.Journal, settings: batch.Settings, submissions: list[str],
                    hashes: list[str]) -> dict[int, str]:
    """The earlier reports a resumed run keeps, by index; adopts their seed if none is given."""
    previous = journal.previous()
    if settings.seed is None and not settings.public_only:
        seeds = Counter(f.seed for f in previous if f.assignment == settings.assignment
                        and not f.public_only and f.seed is not None)
        if seeds:
            settings.seed = seeds.most_common(1)[0][0]
    kept = {}
    for index, (path, sha) in enumerate(zip(submissions, hashes)):
        line = previous.get(settings.fingerprint(path, sha))
        if line is not None:
            kept[index] = line
    return kept


def _from_line(line: str, detailed: bool) -> SubmissionReport:
    report = report_from_json(json.loads(line))
    return report if detailed else dataclasses.replace(report, exercises=[])


class _InOrder:
    """JSON Lines on a stream in the order given, whatever order reports finish in."""

    def __init__(self, count: int, stream):
        self.waiting: dict[int, str] = {}
        self.next, self.count, self.stream = 0, count, stream

    def put(self, index: int, line: str) -> None:
        self.waiting[index] = line
        while self.next in self.waiting:
            self.stream.write(self.waiting.pop(self.next) + "\n")
            self.next += 1
        self.stream.flush()


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
    for result in report.exercises:
        if exercise is None or result.name == exercise:
            print(exercise_text(result, public_only=True), end="")
    print(_("Only the public cases ran here; hidden cases are graded later, "
            "so this is not your grade."))
    return 0
