"""Hostile notebooks: each earns nothing it did not honestly earn.

Every notebook is made with nbformat from the real student release
(``release/03_backprop/03_backprop.ipynb``), its answer cells filled with the
reference solution, and graded in one batch through the real command line,
laid out as nbgrader collects them (``course/submitted/<student>/<A>/``) next
to a gradebook. Three kinds of case:

- ``unreadable``: a broken file (corrupt JSON, not a notebook, a link to the
  solutions, ...): a clear message, every exercise ``error``, score 0, and the
  rest of the batch graded;
- ``honest``: correct answers in an odd but legal shape (metadata stripped, a
  cell added, IPython magics, source as text or as lines, version 3): what
  the code earns, full marks;
- ``cheat``: ``mse_loss`` left as the stub (honestly worth 0 of 3) plus an
  attack (IPython transformers, ``%run``/``%load``/``!cat`` of the solutions,
  forged metadata, a fake ``self_check``, ...): scores exactly what the same
  notebook without the attack scores, exercise by exercise.
"""
from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from grader.course.build import solution_parts
from grader.course.stubs import solution_path
from grader.submission import MAX_FILE_BYTES
from tests.conftest import ROOT, by_name, run_grader

A = "03_backprop"
TARGET = "mse_loss"  # what the cheats aim at: 3 points, and no other exercise uses it
RELEASE = ROOT / "release" / A / f"{A}.ipynb"
SOURCE_NOTEBOOK = ROOT / "assignments" / A / f"{A}.ipynb"  # nbgrader's: every answer in it
IMPORTS, DEFINITIONS = solution_parts(A)


# -- notebooks from the release ----------------------------------------------------------

def answer_name(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    grade_id = meta.get("grade_id", "")
    return grade_id[:-len("_answer")] if meta.get("solution") and grade_id.endswith("_answer") \
        else None


def release_notebook(stub: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """The release, every answer cell filled with the solution except those in ``stub``."""
    notebook = nbformat.read(str(RELEASE), as_version=4)
    answers = [c for c in notebook.cells if answer_name(c)]
    for cell in answers:
        name = answer_name(cell)
        if name not in stub:
            code = DEFINITIONS[name]
            cell.source = f"{IMPORTS}\n\n\n{code}" if cell is answers[0] else code
    return notebook


def answer(notebook, name: str):
    return next(c for c in notebook.cells if answer_name(c) == name)


def grade_cell(notebook, name: str):
    return next(c for c in notebook.cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name)


def cell_after(notebook, anchor, source: str, **metadata) -> None:
    """Insert a new code cell (as a student adds one: no nbgrader metadata) after ``anchor``."""
    new = nbformat.v4.new_code_cell(textwrap.dedent(source).strip("\n"), metadata=metadata)
    notebook.cells.insert(notebook.cells.index(anchor) + 1, new)


def added_cell(notebook, source: str) -> None:
    cell_after(notebook, notebook.cells[-1], source)


def raw(notebook) -> dict:
    """The notebook as the JSON on disk (sources as lists of lines)."""
    return json.loads(nbformat.writes(notebook))


def strip(notebook, which: Callable) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if which(cell.get("metadata", {}).get("nbgrader", {})):
            cell.metadata.pop("nbgrader", None)
    return notebook


# -- the cases --------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    slug: str
    build: Callable  # (notebook) -> notebook | dict (JSON) | str | bytes; or (folder) -> path
    kind: str  # "unreadable", "broken", "honest" or "cheat"
    message: str = ""  # unreadable: in the report's error; else in the target's feedback
    on_disk: bool = False  # build gets the student's folder and makes the file itself
    stub: bool | None = None  # whether mse_loss's answer cell is the stub; default: cheats'


CHEAT_GOAL = "full marks for mse_loss, which is still the stub"

CORRUPT = [
    Case("truncated_json", lambda nb: nbformat.writes(nb)[:len(nbformat.writes(nb)) // 2],
         "unreadable", "not JSON"),
    Case("python_source_named_ipynb", lambda nb: solution_path(A).read_text(),
         "unreadable", "not JSON"),
    Case("empty_file", lambda nb: "", "unreadable", "not JSON"),
    Case("binary_garbage", lambda nb: bytes(range(256)) * 64, "unreadable", "not UTF-8"),
    Case("json_nested_deeply", lambda nb: "[" * 200_000 + "]" * 200_000, "unreadable",
         "nested too deeply"),
    Case("json_array_not_a_notebook", lambda nb: [raw(nb)], "unreadable", "not a notebook"),
    Case("json_without_nbformat", lambda nb: {k: v for k, v in raw(nb).items()
                                              if k != "nbformat"},
         "unreadable", "no nbformat version"),
    Case("nbformat_5", lambda nb: {**raw(nb), "nbformat": 5}, "unreadable",
         "nbformat version 5 is not supported"),
    Case("nbformat_as_a_string", lambda nb: {**raw(nb), "nbformat": "4"}, "unreadable",
         "nbformat version '4' is not supported"),
    Case("nbformat_3_broken", lambda nb: {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                          "worksheets": 5}, "unreadable",
         "not a readable notebook"),
    Case("cells_not_a_list", lambda nb: {**raw(nb), "cells": {"0": raw(nb)["cells"][0]}},
         "unreadable", "no list of cells"),
    Case("cell_not_an_object", lambda nb: {**raw(nb), "cells": raw(nb)["cells"] + [42]},
         "unreadable", f"cell {len(release_notebook().cells) + 1} is not a notebook cell"),
    Case("cell_without_cell_type", lambda nb: {**raw(nb), "cells": [
        {k: v for k, v in c.items() if k != "cell_type"} for c in raw(nb)["cells"]]},
         "unreadable", "cell 1 is not a notebook cell"),
    Case("code_cell_without_source", lambda nb: {**raw(nb), "cells": [
        {k: v for k, v in c.items() if k != "source" or answer_name(c) != TARGET}
        for c in raw(nb)["cells"]]}, "unreadable", "has no source"),
    Case("code_cell_source_not_text", lambda nb: {**raw(nb), "cells": [
        {**c, "source": {"exec": "full marks"}} if answer_name(c) == TARGET else c
        for c in raw(nb)["cells"]]}, "unreadable", "has no source"),
]


def _sparse_file(folder: Path) -> Path:
    path = folder / f"{A}.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    return path


def _link_to_source_notebook(folder: Path) -> Path:
    (folder / f"{A}.ipynb").symlink_to(SOURCE_NOTEBOOK)  # read as the judge, it is 100
    return folder  # the folder is handed in, as nbgrader collects it


def _link_to_solutions(folder: Path) -> Path:
    (folder / "mine.py").symlink_to(solution_path(A))
    return folder / "mine.py"


def _py_posing_as_cells(folder: Path) -> Path:
    """A .py that does not compile, dressed as the grader's own notebook cells: run one
    by one, its correct functions would score though the module cannot be imported."""
    from grader.sandbox.protocol import CELL_MARKER

    path = folder / f"{A}.py"
    path.write_text(f"{CELL_MARKER}\ndef broken(:\n{CELL_MARKER}\n"
                    + solution_path(A).read_text(), encoding="utf-8")
    return path


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / f"{A}.ipynb")  # reading it would hang the batch
    return folder / f"{A}.ipynb"


FILES = [
    Case("larger_than_the_limit", _sparse_file, "unreadable", "larger than 64 MiB", on_disk=True),
    Case("symlink_to_the_source_notebook", _link_to_source_notebook, "unreadable",
         "symbolic link", on_disk=True),
    Case("symlink_to_the_solutions", _link_to_solutions, "unreadable", "symbolic link",
         on_disk=True),
    Case("fifo_named_like_a_notebook", _fifo, "unreadable", "not a regular file", on_disk=True),
    Case("py_file_posing_as_notebook_cells", _py_posing_as_cells, "broken", "SyntaxError",
         on_disk=True),
]


def _source_as_text(nb):
    data = raw(nb)
    for cell in data["cells"]:
        cell["source"] = "".join(cell["source"])
    return data


def _crlf(nb):
    for cell in nb.cells:
        cell.source = cell.source.replace("\n", "\r\n")
    return nb


def _indented_cell(nb):
    cell = answer(nb, TARGET)
    cell.source = textwrap.indent(cell.source, "    ")  # pasted indented: IPython dedents it
    return nb


def _separator_in_a_string(nb):
    answer(nb, TARGET).source = DEFINITIONS[TARGET].replace(
        "    diff = pred - target",
        '    assert len("a\u2028b\x0cc") == 5  # a line separator inside a string\n'
        "    diff = pred - target")
    return nb


def _version_3(nb):
    return nbformat.writes(nbformat.convert(nb, 3), version=3)


def _new_ids(nb):
    data = raw(nb)
    for number, cell in enumerate(data["cells"]):
        if number % 3 == 0:
            cell["id"] = "same"  # duplicated
        elif number % 3 == 1:
            cell.pop("id")
        else:
            cell["id"] = f"renamed-{number}"
    return data


def _grade_ids_renamed(nb, stub=False):
    names = [answer_name(c) for c in nb.cells if answer_name(c)]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):  # an answer cell named like another exercise's test cell
            meta["grade_id"] = names[(names.index(meta["grade_id"][:-7]) + 1) % len(names)]
        elif meta.get("grade"):  # and the test cells shuffled, worth a fortune
            meta["grade_id"] = names[(names.index(meta["grade_id"]) + 3) % len(names)]
            meta["points"] = 1000.0
    return nb


def _helper_in_an_added_cell(nb):
    cell = answer(nb, TARGET)
    cell.source = DEFINITIONS[TARGET].replace("np.mean(diff ** 2)", "_mean_square(diff)")
    cell_after(nb, cell, """
        def _mean_square(values):
            return np.mean(values ** 2)
        """)
    return nb


def _answer_in_an_added_cell(nb):
    cell_after(nb, answer(nb, TARGET), DEFINITIONS[TARGET])  # below the stub: it wins
    return nb


def _test_cell_made_an_answer(nb, code):
    cell = grade_cell(nb, TARGET)
    cell.metadata["nbgrader"].update(solution=True, grade=False, locked=False)
    cell.source = textwrap.dedent(code).strip()
    return nb


def _test_cell_kept_but_unmarked(nb):
    nb.cells.remove(answer(nb, TARGET))  # an exercise gone: its feedback names no test cell
    return strip(nb, lambda meta: True)


HONEST_IPYTHON = """\
%matplotlib inline
%load_ext autoreload
%autoreload 2
!pip install numpy
files = !ls
listing = %sx ls
np.maximum?
?np.sum
%time \\
    1 + 1
"""

HONEST_CONTINUATIONS = '''
_REPORT = """
%(name)s: a line of a string that starts with a percent sign
!important: and one with an exclamation mark
"""


def mse_loss(pred, target):
    """Mean squared error, black-formatted: operators start the continued lines."""
    assert _REPORT.split("\\n")[1].startswith("%(name)s")
    assert _REPORT.split("\\n")[2].startswith("!important")
    diff = (pred
            - target)
    count = (diff.size
             % (diff.size + 1))
# %% grader: notebook cell
    if (count
            != diff.size):
        raise AssertionError("miscounted")
    return float(np.mean(diff ** 2)), 2.0 * diff / count
'''

HONEST_MAGICS_IN_A_FUNCTION = '''
def mse_loss(pred, target):
    %time diff = None
    diff = pred - target
    !echo computing the loss
    %xmode Plain
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size
'''


def _honest_ipython(nb):
    first = next(c for c in nb.cells if answer_name(c))
    first.source = IMPORTS + "\n" + HONEST_IPYTHON + first.source
    answer(nb, TARGET).source = "%%capture captured\n" + answer(nb, TARGET).source
    answer(nb, "relu_forward").source = "%%time\n" + answer(nb, "relu_forward").source
    return nb


def _replace_answer(code):
    def build(nb):
        answer(nb, TARGET).source = textwrap.dedent(code).strip()
        return nb
    return build


HONEST = [
    Case("nbformat_3", _version_3, "honest"),
    Case("source_as_one_string", _source_as_text, "honest"),
    Case("crlf_line_endings", _crlf, "honest"),
    Case("cell_indented_as_a_whole", _indented_cell, "honest"),
    Case("line_separator_inside_a_string", _separator_in_a_string, "honest"),
    Case("metadata_stripped_everywhere", lambda nb: strip(nb, lambda meta: True), "honest"),
    Case("metadata_stripped_from_answers", lambda nb: strip(nb, lambda m: m.get("solution")),
         "honest"),
    Case("metadata_stripped_from_tests", lambda nb: strip(nb, lambda m: m.get("grade")),
         "honest"),
    Case("cell_ids_changed", _new_ids, "honest"),
    Case("grade_ids_renamed", _grade_ids_renamed, "honest"),
    Case("helper_in_an_added_cell", _helper_in_an_added_cell, "honest"),
    Case("answer_in_an_added_cell", _answer_in_an_added_cell, "honest", stub=True),
    Case("test_cell_made_an_answer_with_honest_code",
         lambda nb: _test_cell_made_an_answer(nb, DEFINITIONS[TARGET]), "honest", stub=True),
    Case("ipython_magics_and_help", _honest_ipython, "honest"),
    Case("continued_lines_start_with_operators", _replace_answer(HONEST_CONTINUATIONS), "honest"),
    Case("line_magics_inside_a_function", _replace_answer(HONEST_MAGICS_IN_A_FUNCTION), "honest"),
]


def _cheat_cell(code: str, where: str = "end"):
    def build(nb):
        code_filled = textwrap.dedent(code)
        for key, value in PLACES.items():
            code_filled = code_filled.replace(f"{{{key}}}", value)
        if where == "answer":
            answer(nb, TARGET).source = code_filled.strip()
        else:
            added_cell(nb, code_filled)
        return nb
    return build


PLACES = {"ROOT": str(ROOT)}  # COURSE is added by the batch, before anything is built

FAKE_SELF_CHECK = """
import sys, types
def self_check(*args, **kwargs):
    print("mse_loss: passed, score 3 / 3")
    return 3.0
grader = types.ModuleType("grader")
grader.score = grader.max_score = 100.0
sys.modules["grader"] = sys.modules["grader.course.selfcheck"] = grader
grader.self_check = self_check
print('{"submission": "x", "score": 100.0, "max_score": 100.0}')
mse_loss = lambda pred, target: (0.0, pred * 0)
"""

CHEATS = [
    Case("input_transformers", _cheat_cell("""
        ip = get_ipython()
        ip.input_transformers_cleanup.append(
            lambda lines: ["self_check = lambda *a, **k: 3.0\\n"] + lines)
        ip.ast_transformers.append(object())
        ip.events.register("post_run_cell", lambda *a: None)
        """), "cheat"),
    Case("capture_hides_a_fake_self_check", _cheat_cell("%%capture\n" + FAKE_SELF_CHECK),
         "cheat"),
    Case("shell_escapes_read_the_solutions", _cheat_cell("""
        !cat {ROOT}/solutions/03_backprop.py
        solution = !cat {ROOT}/solutions/03_backprop.py
        exec("\\n".join(solution or []))
        !cp {ROOT}/solutions/03_backprop.py solution.py
        """), "cheat"),
    Case("run_magic_runs_the_solutions", _cheat_cell("""
        %run {ROOT}/solutions/03_backprop.py
        %run -i ../../../solutions/03_backprop.py
        """), "cheat"),
    Case("load_magic_in_the_answer_cell", _cheat_cell(
        "%load {ROOT}/solutions/03_backprop.py", where="answer"), "cheat", "not defined"),
    Case("magics_inside_a_function_load_the_solutions", _cheat_cell("""
        def mse_loss(pred, target):
            %load {ROOT}/solutions/03_backprop.py
            !cat {ROOT}/solutions/03_backprop.py
            %run {ROOT}/solutions/03_backprop.py
            return 0.0, np.zeros_like(pred)
        """, where="answer"), "cheat"),
    Case("cell_magics_run_the_solutions", _cheat_cell("""
        %%bash
        cp {ROOT}/solutions/03_backprop.py answer.py
        python {ROOT}/solutions/03_backprop.py
        """), "cheat"),
    Case("run_cell_with_the_solutions", _cheat_cell("""
        get_ipython().run_cell(open("{ROOT}/solutions/03_backprop.py").read())
        get_ipython().run_line_magic("run", "{ROOT}/solutions/03_backprop.py")
        """), "cheat"),
    Case("exec_redefines_once_grading_starts", _cheat_cell('''
        import threading
        _REDEFINE = """
        def self_check(*args, **kwargs):
            return 3.0
        class grader:
            score = max_score = 100.0
        np.allclose = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        def mse_loss(pred, target):
            return 0.0, np.zeros_like(pred)
        """
        threading.Timer(0.2, exec, args=(_REDEFINE, globals())).start()
        _linear_forward = linear_forward
        def linear_forward(x, w, b):
            exec(_REDEFINE, globals())
            return _linear_forward(x, w, b)
        '''), "cheat"),
    Case("defines_self_check_and_grader", _cheat_cell(FAKE_SELF_CHECK), "cheat"),
    Case("test_cell_made_an_answer_with_a_cheat",
         lambda nb: _test_cell_made_an_answer(nb, FAKE_SELF_CHECK), "cheat"),
    Case("answer_disguised_as_a_test_cell", lambda nb: (cell_after(
        nb, answer(nb, TARGET), DEFINITIONS[TARGET], nbgrader={
            "grade": True, "solution": False, "locked": True, "points": 1000.0,
            "grade_id": TARGET, "schema_version": 3}), nb)[1], "cheat"),
    Case("grade_ids_renamed_around_a_stub", lambda nb: _grade_ids_renamed(nb), "cheat"),
    Case("metadata_stripped_and_an_answer_deleted", _test_cell_kept_but_unmarked, "cheat",
         "not defined in the submission"),
    Case("writes_to_the_gradebook", _cheat_cell("""
        import sqlite3
        for path in ("{COURSE}/gradebook.db", "../../../gradebook.db"):
            try:
                db = sqlite3.connect(path)
                db.execute("CREATE TRIGGER full AFTER INSERT ON grade BEGIN "
                           "UPDATE grade SET score = 100; END")
                db.commit()
            except Exception:
                pass
            try:
                open(path, "ab").write(b"pwned")
            except OSError:
                pass
        """), "cheat"),
    Case("writefile_over_the_gradebook", _cheat_cell("""
        %%writefile {COURSE}/gradebook.db
        full marks for everyone
        """), "cheat"),
]

CASES = CORRUPT + FILES + HONEST + CHEATS
assert len({c.slug for c in CASES}) == len(CASES)


# -- the batch --------------------------------------------------------------------------

def _write(folder: Path, case: Case) -> Path:
    if case.on_disk:
        return case.build(folder)
    stub = case.kind == "cheat" if case.stub is None else case.stub
    made = case.build(release_notebook(stub=(TARGET,) if stub else ()))
    path = folder / f"{A}.ipynb"
    if isinstance(made, nbformat.NotebookNode):
        path.write_text(nbformat.writes(made), encoding="utf-8")
    elif isinstance(made, (dict, list)):
        path.write_text(json.dumps(made), encoding="utf-8")
    elif isinstance(made, bytes):
        path.write_bytes(made)
    else:
        path.write_text(made, encoding="utf-8")
    return path


def _snapshot(*roots: Path) -> dict[str, bytes | str]:
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_symlink():
                files[str(path)] = "-> " + os.readlink(path)
            elif path.is_file():
                files[str(path)] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every case in one batch, between honest notebooks, laid out as nbgrader collects."""
    course = tmp_path_factory.mktemp("course")
    gradebook = sqlite3.connect(course / "gradebook.db")
    gradebook.execute("CREATE TABLE grade (student TEXT, cell TEXT, score REAL)")
    gradebook.execute("INSERT INTO grade VALUES ('ada', 'mse_loss', 0.0)")
    gradebook.commit()
    gradebook.close()
    PLACES["COURSE"] = str(course)

    def student(name: str) -> Path:
        folder = course / "submitted" / name / A
        folder.mkdir(parents=True)
        return folder

    honest = release_notebook()
    stub = release_notebook(stub=(TARGET,))
    paths = []
    for name, notebook in (("honest_first", honest), ("stub", stub)):
        path = student(name) / f"{A}.ipynb"
        path.write_text(nbformat.writes(notebook), encoding="utf-8")
        paths.append(path)
    paths += [_write(student(case.slug), case) for case in CASES]
    paths.append(paths[0])  # the honest notebook once more, last
    before = _snapshot(course, ROOT / "solutions")
    done = run_grader("grade", A, *map(str, paths), "--json", "-", "--seed", "11",
                      "--jobs", "2", timeout=1200)
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    return {"done": done, "reports": reports, "paths": paths, "before": before,
            "after": _snapshot(course, ROOT / "solutions"),
            "course": course}


def _report(batch, case: Case) -> dict:
    index = 2 + CASES.index(case)
    report = batch["reports"][index]
    assert report["submission"] == str(batch["paths"][index])
    return report


def test_the_batch_is_graded_and_honest_work_keeps_full_marks(batch):
    done = batch["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    reports = batch["reports"]
    assert len(reports) == len(CASES) + 3  # no fake report line reached the output
    assert [r["submission"] for r in reports] == [str(p) for p in batch["paths"]]
    assert reports[0]["score"] == reports[-1]["score"] == 100
    stub = by_name(reports[1])
    assert stub[TARGET]["score"] == 0 and stub[TARGET]["status"] == "not_attempted"
    assert reports[1]["score"] == 100 - stub[TARGET]["max_score"]
    assert {r["max_score"] for r in reports} == {100}  # forged points change no maximum
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.slug for c in CASES])
def test_case_earns_what_it_honestly_earns(batch, case):
    report = _report(batch, case)
    exercises = by_name(report)
    if case.kind == "unreadable":
        assert report["score"] == 0
        assert {e["status"] for e in exercises.values()} == {"error"}
        assert case.message in report["error"], report["error"]
        assert "Traceback" not in report["error"] and len(report["error"]) < 400
        return
    if case.kind == "broken":  # a module that does not compile earns nothing, as any .py
        assert report["score"] == 0
        assert {e["status"] for e in exercises.values()} == {"error"}
        assert all(case.message in e["feedback"] for e in exercises.values())
        return
    if case.kind == "honest":
        failing = {n: e["feedback"] for n, e in exercises.items() if e["status"] != "passed"}
        assert failing == {} and report["score"] == 100
        return
    stub = by_name(batch["reports"][1])
    assert exercises[TARGET]["score"] == 0, CHEAT_GOAL
    assert case.message in exercises[TARGET]["feedback"]
    others = {n: (e["status"], e["score"]) for n, e in exercises.items() if n != TARGET}
    assert others == {n: (e["status"], e["score"]) for n, e in stub.items() if n != TARGET}
    assert report["score"] == batch["reports"][1]["score"]


def test_stripped_test_cells_do_not_run_as_student_code(batch):
    """With no metadata, a test cell is known by what it does (only self_check): it does
    not run in the sandbox, so no failed import from it is blamed on the student."""
    case = next(c for c in CASES if c.slug == "metadata_stripped_and_an_answer_deleted")
    feedback = by_name(_report(batch, case))[TARGET]["feedback"]
    assert "raised" not in feedback, feedback


def test_nothing_outside_the_batch_was_touched(batch):
    assert batch["before"] == batch["after"]  # the gradebook, other students, the solutions
    rows = sqlite3.connect(batch["course"] / "gradebook.db").execute(
        "SELECT * FROM grade").fetchall()
    assert rows == [("ada", "mse_loss", 0.0)]
    assert not (ROOT / "solution.py").exists() and not (ROOT / "answer.py").exists()

