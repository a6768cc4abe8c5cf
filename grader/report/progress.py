"""The terminal's progress bar for a grading run (rich), silent when not on a terminal."""
from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn)

from grader.i18n import _


class ProgressBar:
    """Counts graded exercises; a no-op where the stream is not a terminal (CI logs)."""

    def __init__(self, total: int | None, stream: TextIO):
        """``total`` None: not known yet (``expect`` tells it); 0: nothing to grade, no bar."""
        console = Console(file=stream)
        self.progress = None
        if total != 0 and console.is_terminal:
            self.progress = Progress(TextColumn(_("grading")), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), console=console, transient=True)
            self.task = self.progress.add_task("", total=total)

    def expect(self, total: int) -> None:
        if self.progress is not None and self.progress.tasks[0].total is None:
            self.progress.update(self.task, total=total)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def __enter__(self) -> "ProgressBar":
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
