"""Leaving a grading process quickly once its work is done."""
from __future__ import annotations

import atexit
import os
import sys


def exit_now(code: int) -> None:
    """Exit with ``code`` after the exit handlers, skipping the interpreter's teardown.

    Tearing down torch's modules and their C++ state takes about 0.4 s a
    process on this course's machine, and the grader starts one per run and per
    ``--jobs`` process. Nothing is left to do by then: every report is
    written and flushed, and the handlers (the sandbox's, tempfile's) have run.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a broken pipe: nothing more to say
            pass
    os._exit(code)
