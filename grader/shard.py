"""One of the grading processes of ``--jobs N`` (started by ``grader.batch``).

Reads its share as JSON on standard input (the run's settings, the
submissions and their content hashes), grades it in this process, and writes
one JSON line per finished submission (``{"index": i, "report": ...}``) to
the file descriptor named on its command line.
"""
from __future__ import annotations

import json
import os
import sys

from grader import batch
from grader.report.model import report_to_wire


def main() -> int:
    out = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8")
    request = json.load(sys.stdin)
    if request.get("core") is not None:  # this process, its warm parent and every worker
        os.sched_setaffinity(0, {request["core"]})

    def on_report(index: int, report) -> None:
        out.write(json.dumps({"index": index, "report": report_to_wire(report)}) + "\n")
        out.flush()

    try:
        batch.grade_each(batch.Settings(**request["settings"]), request["submissions"],
                         on_report, hashes=request["hashes"])
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from grader.exiting import exit_now

    exit_now(main())
