"""Turn what a student handed in (a .py, a notebook, a folder) into module source.

This runs in the judge and only reads files: a notebook is parsed as JSON,
never executed here (nbformat, imported only then, upgrades notebooks older
than version 4). The source is then run inside the sandbox.

Everything here is hostile input: a file that is not what it claims to be
gives a :class:`Submission` with an ``error`` (one clear sentence), never an
exception, so a bad submission cannot stop the batch.
"""
from __future__ import annotations

import ast
import json
import os
import re
import stat
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import _
from grader.sandbox.protocol import CELL_MARKER

#: The most the judge reads of a file (a notebook with its outputs included).
MAX_FILE_BYTES = 64 * 2**20
#: The most code a submission may hand the sandbox: far above any honest
#: answer, and small enough that the load request stays under the protocol's
#: frame limit however its characters are escaped.
MAX_SOURCE_CHARS = 4 * 2**20


@dataclass(frozen=True)
class Submission:
    """A submission as given on the command line, and its code or why it has none."""

    path: str
    source: str | None
    error: str | None = None


class NotebookError(Exception):
    """A submission that cannot be graded; the message says why, for the student."""


def load(path: str, assignment: str) -> Submission:
    target = Path(path)
    try:
        if target.is_dir():
            found = _find_in_folder(target, assignment)
            if found is None:
                return Submission(path, None, _("no {assignment}.py or .ipynb in the folder "
                                                "{path}").format(assignment=assignment, path=path))
            target = found
        data = _read_bytes(target)
        if target.suffix == ".ipynb":
            source = _notebook_code(data, target.name)
        else:
            source = _module_code(data.decode("utf-8-sig"))
        if len(source) > MAX_SOURCE_CHARS:
            raise NotebookError(_("cannot read {file}: {reason}").format(
                file=target.name, reason=f"more than {MAX_SOURCE_CHARS} characters of code"))
        return Submission(path, source)
    except UnicodeDecodeError:
        return Submission(path, None, _("{file} is not UTF-8 text").format(file=target.name))
    except NotebookError as error:
        return Submission(path, None, str(error))
    except OSError as error:
        return Submission(path, None, _("cannot read {file}: {reason}").format(
            file=target.name, reason=error.strerror or type(error).__name__))


def _find_in_folder(folder: Path, assignment: str) -> Path | None:
    for name in (f"{assignment}.ipynb", f"{assignment}.py"):
        if (folder / name).is_file() or (folder / name).is_symlink():
            return folder / name
    candidates = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb")
                        and not p.name.startswith("."))
    return candidates[0] if len(candidates) == 1 else None


def _read_bytes(target: Path) -> bytes:
    """The file's bytes: a regular file, not a link (it would be read with the judge's
    rights: a student's link to the solutions), at most MAX_FILE_BYTES of it."""
    if target.is_symlink():
        raise NotebookError(_("cannot read {file}: {reason}").format(
            file=target.name, reason="it is a symbolic link; hand in the file itself"))
    # O_NOFOLLOW: no link swapped in since; O_NONBLOCK: a FIFO does not hang the batch
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotebookError(_("cannot read {file}: {reason}").format(
                file=target.name, reason="not a regular file"))
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise NotebookError(_("cannot read {file}: {reason}").format(
            file=target.name, reason=f"larger than {MAX_FILE_BYTES // 2**20} MiB"))
    return data


def _module_code(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(CELL_MARKER):  # a .py is one module, not cells run one by one
        text = "#" + text
    return text


# -- notebooks -------------------------------------------------------------------------

def notebook_source(path: Path) -> str:
    """The code of a notebook's cells, as one module (raises NotebookError)."""
    return _notebook_code(_read_bytes(Path(path)), Path(path).name)


def _notebook_code(data: bytes, name: str) -> str:
    """The code of a notebook, one chunk per code cell, as the sandbox runs it.

    Every code cell counts, in the notebook's order, as Jupyter runs them:
    the answer cells (nbgrader ``solution`` cells) and any cell the student
    added, with or without metadata (metadata decides nothing a student
    could gain from). Left out are nbgrader test cells (``grade`` and not
    ``solution``: the instructor's code, which may hold hidden tests that
    must never run next to student code, and which nbgrader's
    ``OverwriteCells`` restores anyway; a student's code dressed as one is
    not graded) and cells that do nothing but call the course's
    ``self_check`` (test cells whose metadata was stripped). Grading happens
    in the judge, not in the student's kernel, so IPython syntax is
    neutralised as IPython would parse it: magics, shell
    escapes and help lines become ``pass`` (``x = !cmd`` gives ``x = None``),
    a ``%%`` cell magic keeps its body only where IPython would run it as
    Python in the notebook's namespace (``%%capture``, ``%%time``, ...), and a
    cell indented as a whole is dedented.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable(name, "it is not UTF-8 text") from None
    chunks = []
    try:
        for cell in _code_cells(text, name):
            if is_test_cell(cell):
                continue
            code = cell_code(cell["source"])
            if not _only_self_check(code):
                chunks.append(code)
    except NotebookError:
        raise
    except Exception as error:  # whatever else a hostile file finds: its grade, not the batch
        raise _unreadable(name, f"{type(error).__name__}: {str(error)[:200]}") from None
    return "".join(f"{CELL_MARKER}\n{chunk}\n" for chunk in chunks)


def _unreadable(name: str, why: str) -> NotebookError:
    return NotebookError(_("{file} is not a readable notebook ({error})").format(
        file=name, error=why))


def _code_cells(text: str, name: str) -> list[dict]:
    """The notebook's code cells, each with its source as one string."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise _unreadable(name, "its JSON is nested too deeply") from None
    except ValueError as error:
        raise _unreadable(name, f"not JSON: {str(error)[:200]}") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise _unreadable(name, "JSON, but not a notebook: it has no nbformat version")
    version = data["nbformat"]
    if type(version) is not int or not 1 <= version <= 4:
        raise _unreadable(name, f"nbformat version {repr(version)[:20]} is not supported "
                                "(notebooks are version 4)")
    if version < 4:
        data = _upgraded(text, name)
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise _unreadable(name, "it has no list of cells")
    code_cells = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise _unreadable(name, f"cell {number} is not a notebook cell")
        if cell["cell_type"] != "code":
            continue
        source = cell.get("source")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)  # nbformat stores a cell's source as text or lines
        if not isinstance(source, str):
            raise _unreadable(name, f"code cell {number} has no source")
        code_cells.append({**cell, "source": source})
    return code_cells


def _upgraded(text: str, name: str) -> dict:
    """A notebook older than version 4, converted by nbformat (imported only here:
    it costs a second at start-up, jsonschema and all)."""
    try:
        from nbformat import converter, reader

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(converter.convert(reader.reads(text), 4))
    except Exception as error:  # nbformat raises many kinds for a broken file
        raise _unreadable(name, f"{type(error).__name__}: {str(error)[:200]}") from None


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell) -> bool:
    """An nbgrader autograder test cell: graded, and not a student's answer."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) \
        and not meta.get("solution")


def _only_self_check(code: str) -> bool:
    """Whether a cell does nothing but import and call the course's ``self_check``."""
    if "self_check" not in code:
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False

    def harmless(node) -> bool:
        if isinstance(node, ast.Pass):
            return True
        if isinstance(node, ast.ImportFrom):
            return node.module == "grader.course.selfcheck" and \
                [a.name for a in node.names] == ["self_check"]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            return isinstance(call.func, ast.Name) and call.func.id == "self_check" and \
                all(isinstance(a, ast.Constant) for a in call.args) and \
                all(isinstance(k.value, ast.Constant) for k in call.keywords)
        return False

    return bool(tree.body) and all(harmless(node) for node in tree.body)


# -- IPython syntax --------------------------------------------------------------------

#: Cell magics whose body IPython runs as Python in the notebook's namespace.
PYTHON_CELL_MAGICS = frozenset({"capture", "time", "prun", "debug"})
_ESCAPES = ("%", "!", "?", ",", ";", "/")  # a line starting so is never Python
_HELP = re.compile(r"^\?{0,2}[A-Za-z_][\w.*]*\?{1,2}$")  # np.maximum? / np.max??
_TARGETS = re.compile(r"[\w.,\[\]'\"()*\s]+")  # what ``x = !ls`` or ``a, b = %sx ls`` assign to


def cell_code(source: str) -> str:
    """A cell's source as Python that the sandbox can run, line for line.

    The number of lines never changes, so a line number in feedback is the
    line of the cell. Only lines where a Python statement starts are looked
    at: a ``%`` or ``!=`` that continues an expression, or a line of a
    string, is left alone.
    """
    out: list[str] = []
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for nested in range(4):  # a cell magic's body is a cell of its own, maybe with one too
        lines = textwrap.dedent("\n".join(lines)).split("\n")
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None or not lines[first].startswith("%%"):
            break
        magic = (lines[first][2:].split() or [""])[0]
        out += [""] * first + ["pass  # " + lines[first]]
        lines = lines[first + 1:]
        if magic not in PYTHON_CELL_MAGICS or nested == 3:  # %%bash, %%writefile, ...
            return "\n".join(out + ["# " + line for line in lines])  # not Python here
    quote, depth, continued, in_magic = None, 0, False, False
    for line in lines:
        if line == CELL_MARKER:  # the sandbox splits cells at this line: not inside one
            line = "#" + line
        stripped = line.lstrip()
        indent = line[:len(line) - len(stripped)]
        if in_magic:  # a magic continued with a backslash
            out.append(indent + "# " + stripped)
            in_magic = stripped.endswith("\\")
            continue
        if quote is None and depth == 0 and not continued and stripped:
            replaced = _neutralised(stripped)
            if replaced is not None:
                out.append(indent + replaced)
                in_magic = stripped.endswith("\\")
                continue
        quote, depth, continued = _scan(line, quote, depth)
        out.append(line)
    return "\n".join(out)


def _neutralised(statement: str) -> str | None:
    """What an IPython-only line becomes, or None for a line of Python."""
    if statement.startswith(_ESCAPES) or _HELP.match(statement):
        return "pass  # " + statement
    equals = statement.find("=")
    value = statement[equals + 1:].lstrip()
    if equals > 0 and value.startswith(("%", "!")) and _TARGETS.fullmatch(statement[:equals]):
        return f"{statement[:equals].rstrip()} = None  # {value}"  # IPython's magic assignment
    return None


def _scan(line: str, quote: str | None, depth: int) -> tuple[str | None, int, bool]:
    """Follow one physical line of Python: (the string still open at its end, the
    bracket depth, whether a backslash continues it)."""
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if quote is not None:
            if char == "\\":
                if i == n - 1:
                    return quote, depth, False  # an escaped newline: the string goes on
                i += 2
            elif line.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        if char == "#":
            break
        if char in "\"'":
            quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else char
            i += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "\\" and i == n - 1:
            return None, depth, True
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None  # an unterminated one-line string: a syntax error; go on afresh
    return quote, depth, False
