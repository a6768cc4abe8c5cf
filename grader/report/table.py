"""The readable table of a grading run, for the terminal."""
from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.i18n import _
from grader.report.feedback import detail_lines
from grader.report.model import SubmissionReport

STATUS_STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "red",
                "timeout": "magenta", "not_attempted": "dim", "forbidden": "magenta"}


def print_reports(reports: list[SubmissionReport], stream: TextIO, detail: bool = True) -> None:
    console = Console(file=stream, width=max(100, Console(file=stream).width), soft_wrap=False)
    for report in reports:
        title = f"{report.submission}  [bold]{report.score:g} / {report.max_score:g}[/bold]"
        if report.sandbox == "none":
            title += "  [bold red]" + _("UNSANDBOXED: student code ran with process limits "
                                        "only") + "[/]"
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        table.add_column(_("exercise"))
        table.add_column(_("score"), justify="right")
        table.add_column(_("status"))
        if detail:
            table.add_column(_("feedback"), overflow="fold", max_width=90)
        for exercise in report.exercises:
            style = STATUS_STYLE.get(exercise.status, "")
            row = [exercise.name, f"{exercise.score:g}/{exercise.max_score:g}",
                   f"[{style}]{exercise.status}[/]"]
            if detail:
                row.append("" if exercise.status == "passed" else
                           escape("\n".join(detail_lines(exercise)).strip()))
            table.add_row(*row)
        if report.error:
            console.print(f"[red]{report.submission}: {report.error}[/]")
        console.print(table)
    if len(reports) > 1:
        print_summary(reports, stream, console)


def print_summary(reports: list[SubmissionReport], stream: TextIO,
                  console: Console | None = None) -> None:
    """One row per submission: what a large batch prints (its reports hold no exercises)."""
    console = console or Console(file=stream, width=max(100, Console(file=stream).width),
                                 soft_wrap=False)
    if any(report.sandbox == "none" for report in reports):
        console.print("[bold red]" + _("UNSANDBOXED: student code ran with process limits "
                                       "only") + "[/]")
    summary = Table(title=_("class summary"), title_justify="left")
    summary.add_column(_("submission"))
    summary.add_column(_("score"), justify="right")
    summary.add_column(_("note"))
    for report in reports:
        summary.add_row(report.submission, f"{report.score:g} / {report.max_score:g}",
                        f"[red]{report.error}[/]" if report.error else "")
    console.print(summary)
