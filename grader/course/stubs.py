"""Student stubs from the reference solutions: one source of truth for both.

A solution marks each answer as nbgrader does::

    ### BEGIN SOLUTION
    return dout * (x > 0)
    ### END SOLUTION

and the stub has ``raise NotImplementedError()`` in its place, at the
marker's indentation.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
RELEASE = ROOT / "release"

_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n", re.M | re.S)


def strip_solutions(source: str) -> str:
    stub, count = _REGION.subn(lambda m: f"{m.group(1)}raise NotImplementedError()\n", source)
    if "### BEGIN SOLUTION" in stub or "### END SOLUTION" in stub:
        raise ValueError("unbalanced solution markers")
    return stub


def solution_path(assignment: str) -> Path:
    return SOLUTIONS / f"{assignment}.py"


def stub_source(assignment: str) -> str:
    return strip_solutions(solution_path(assignment).read_text(encoding="utf-8"))
