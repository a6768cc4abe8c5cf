"""Turn what a student handed in (a .py, a notebook, a folder) into module source.

This runs in the judge and only reads files: a notebook is parsed as JSON by
nbformat, never executed here. The source is then run inside the sandbox.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.sandbox.protocol import CELL_MARKER

from grader.i18n import _

_MAGIC = re.compile(r"^(\s*)([%!].*)$")


@dataclass(frozen=True)
class Submission:
    """A submission as given on the command line, and its code or why it has none."""

    path: str
    source: str | None
    error: str | None = None


def load(path: str, assignment: str) -> Submission:
    target = Path(path)
    if target.is_dir():
        found = _find_in_folder(target, assignment)
        if found is None:
            return Submission(path, None, _("no {assignment}.py or .ipynb in the folder "
                                            "{path}").format(assignment=assignment, path=path))
        target = found
    try:
        if target.suffix == ".ipynb":
            return Submission(path, notebook_source(target))
        return Submission(path, target.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return Submission(path, None, _("{file} is not UTF-8 text").format(file=target.name))
    except NotebookError as error:
        return Submission(path, None, str(error))
    except OSError as error:
        return Submission(path, None, _("cannot read {file}: {reason}").format(
            file=target.name, reason=error.strerror))


def _find_in_folder(folder: Path, assignment: str) -> Path | None:
    for name in (f"{assignment}.ipynb", f"{assignment}.py"):
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb")
                        and not p.name.startswith("."))
    return candidates[0] if len(candidates) == 1 else None


class NotebookError(Exception):
    pass


def notebook_source(path: Path) -> str:
    """The code of a notebook's answer cells, as one module.

    In a notebook made from the course's sources only the answer cells
    (nbgrader ``solution`` cells) count: test and demonstration cells stay
    out, since grading happens in the judge, not in the student's kernel.
    A notebook without that metadata (stripped, or written by hand) gives
    all its code cells. IPython magics and shell escapes are commented out.
    """
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises several kinds for a broken file
        raise NotebookError(_("{file} is not a readable notebook ({error})").format(
            file=path.name, error=f"{type(error).__name__}: {str(error)[:200]}")) from None
    code_cells = [c for c in notebook.cells if c.get("cell_type") == "code"]
    answers = [c for c in code_cells if _nbgrader(c).get("solution")]
    chunks = []
    for cell in answers or [c for c in code_cells if not is_test_cell(c)]:
        lines = [_MAGIC.sub(r"\1pass  # \2", line) for line in str(cell.get("source", "")).splitlines()]
        chunks.append("\n".join(lines))
    return "".join(f"{CELL_MARKER}\n{chunk}\n" for chunk in chunks)


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    """An nbgrader autograder test cell: graded, and not a student's answer."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) \
        and not meta.get("solution")
