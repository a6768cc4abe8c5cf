"""Known-wrong and known-right implementations that the grader is tested on.

Each entry is code appended to the reference solution: its definitions
replace the solution's, so a bug breaks exactly the function it names and a
variant swaps in a different but correct implementation.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

from grader.course.stubs import solution_path


@dataclass(frozen=True)
class Bug:
    slug: str
    breaks: str  # the one exercise that must lose points
    code: str
    diagnosis: tuple[str, ...] = ()  # codes the grader must name for it


@dataclass(frozen=True)
class Variant:
    slug: str
    code: str


def patched_source(assignment: str, code: str) -> str:
    solution = solution_path(assignment).read_text(encoding="utf-8")
    return f"{solution}\n\n# --- replaced for this test ---\n{textwrap.dedent(code)}"


def catalogue(assignment: str) -> tuple[list[Bug], list[Variant]]:
    from importlib import import_module

    module = import_module(f"tests.catalogue.a{assignment[:2]}")
    return module.BUGS, module.VARIANTS
