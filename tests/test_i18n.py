"""Feedback in English and Simplified Chinese, through gettext catalogues.

The catalogues must follow the code (the template is re-extracted and
compared), be translated whole (every message, placeholders intact), be
compiled (the .mo is what runs), and reach the grading: the same grading in
another language differs only in its words.
"""
from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from grader import i18n
from grader.checks.core import ASSIGNMENTS, Label, checks_for
from grader.course.stubs import solution_path
from tests.catalogue import patched_source
from tests.conftest import ROOT, grade_json, run_grader

LOCALE = ROOT / "grader" / "locale"
POT = LOCALE / "grader.pot"
PO = LOCALE / "zh_CN" / "LC_MESSAGES" / "grader.po"
MO = LOCALE / "zh_CN" / "LC_MESSAGES" / "grader.mo"
PYBABEL = [str(Path(sys.executable).with_name("pybabel"))]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _pybabel(*args: str) -> None:
    done = subprocess.run([*PYBABEL, *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def _read_po(path: Path):
    with open(path, "rb") as file:
        return read_po(file)


def _ids(catalogue) -> set:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalogue if m.id}


def test_template_is_up_to_date_with_the_code(tmp_path):
    fresh = tmp_path / "grader.pot"
    _pybabel("extract", "-F", "babel.cfg", "-k", "_", "-k", "N_", "-o", str(fresh), "grader")
    in_code, in_template = _ids(_read_po(fresh)), _ids(_read_po(POT))
    assert in_code == in_template, (
        f"new in the code: {sorted(map(str, in_code - in_template))}; gone from it: "
        f"{sorted(map(str, in_template - in_code))}; run pybabel extract and update (README)")


def test_every_message_has_a_chinese_translation_with_its_placeholders():
    catalogue = _read_po(PO)
    assert _ids(catalogue) == _ids(_read_po(POT)), "run pybabel update"
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
            words = PLACEHOLDER.sub("", ids[0])
            if not CJK.search(string) and any(c.isalpha() for c in words):
                problems.append(f"not Chinese: {ids[0]!r} -> {string!r}")
    assert problems == []


def test_compiled_catalogue_is_fresh(tmp_path):
    copy = tmp_path / "zh_CN" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    (copy / "grader.po").write_bytes(PO.read_bytes())
    _pybabel("compile", "-d", str(tmp_path), "-D", "grader")
    with open(copy / "grader.mo", "rb") as fresh, open(MO, "rb") as kept:
        compiled, committed = read_mo(fresh), read_mo(kept)
    assert _messages(compiled) == _messages(committed), "run pybabel compile (README)"


def _messages(catalogue) -> dict:
    def key(value):
        return value if isinstance(value, str) else tuple(value)
    return {key(m.id): key(m.string) for m in catalogue if m.id}


def test_language_switches_and_falls_back():
    message = "{name} has shape {got} but should have shape {want}"
    with i18n.language("zh_CN") as chosen:
        assert chosen == "zh_CN" and CJK.search(i18n._(message))
        assert i18n._("not a message of the catalogue") == "not a message of the catalogue"
        assert i18n.N_(message) == message
    assert i18n.get_language() == "en" and i18n._(message) == message
    translation = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["zh_CN"])
    assert translation.gettext(message) != message


@pytest.mark.parametrize("environ,expected", [
    ({}, "en"), ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"GRADER_LANG": "zh_CN", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ({"GRADER_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_default_language_from_the_environment(environ, expected):
    assert i18n.default_language(environ) == expected


BUGGY = """
def linear_backward(dout, cache):
    x, w = cache
    return dout @ w.T, (x.T @ dout).T, dout.sum(axis=0)

def relu_backward(dout, cache):
    return dout * (cache >= 0)

def softmax_cross_entropy(logits, y):
    import numpy as _np
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = _np.exp(shifted) / _np.exp(shifted).sum(axis=1, keepdims=True)
    n = len(y)
    loss = -_np.log(p[_np.arange(n), y]).mean()
    d = p.copy()
    d[_np.arange(n), y] -= 1
    return loss, d
"""


def _machine_part(report: dict) -> list:
    """What a language must not change (case names are words: they are translated)."""
    return [(e["name"], e["score"], e["status"], e["diagnosis"],
             [(c["public"], c["passed"]) for c in e["cases"]]) for e in report["exercises"]]


def test_grading_in_chinese_differs_only_in_words(tmp_path):
    path = tmp_path / "buggy.py"
    path.write_text(patched_source("03_backprop", BUGGY), encoding="utf-8")
    args = ("--seed", "3")
    (english,) = grade_json("03_backprop", [path], *args, "--lang", "en")
    (chinese,) = grade_json("03_backprop", [path], *args, "--lang", "zh_CN")
    failing = [e for e in english["exercises"] if e["status"] != "passed"]
    assert {e["name"] for e in failing} == {"linear_backward", "relu_backward",
                                            "softmax_cross_entropy"}
    assert _machine_part(chinese) == _machine_part(english)
    assert chinese["score"] == english["score"]
    for exercise_en, exercise_zh in zip(english["exercises"], chinese["exercises"]):
        if exercise_en["status"] == "passed":
            continue
        assert not CJK.search(exercise_en["feedback"])
        assert CJK.search(exercise_zh["feedback"]), exercise_zh["feedback"]
        assert exercise_zh["feedback"] != exercise_en["feedback"]
    linear = {e["name"]: e for e in chinese["exercises"]}["linear_backward"]
    assert "转置" in linear["feedback"] and "transposed" in linear["diagnosis"]
    softmax = {e["name"]: e for e in chinese["exercises"]}["softmax_cross_entropy"]
    assert "misconception:not_divided_by_n" in softmax["diagnosis"]
    assert "1/N" in softmax["feedback"] and "批量" in softmax["feedback"]


def test_language_from_the_environment_reaches_the_grading(tmp_path, monkeypatch):
    path = tmp_path / "buggy.py"
    path.write_text(patched_source("03_backprop", BUGGY), encoding="utf-8")
    (flagged,) = grade_json("03_backprop", [path], "--seed", "3", "--lang", "zh_CN")
    monkeypatch.setenv("GRADER_LANG", "zh_CN")
    (from_env,) = grade_json("03_backprop", [path], "--seed", "3")
    assert [e["feedback"] for e in from_env["exercises"]] == \
        [e["feedback"] for e in flagged["exercises"]]
    assert _machine_part(from_env) == _machine_part(flagged)


def test_language_reaches_xdist_workers(tmp_path):
    paths = []
    for name in ("a.py", "b.py"):
        paths.append(tmp_path / name)
        paths[-1].write_text(patched_source("03_backprop", BUGGY), encoding="utf-8")
    paths.append(solution_path("03_backprop"))
    reports = grade_json("03_backprop", paths, "--seed", "3", "--jobs", "2", "--lang", "zh_CN")
    for report in reports[:2]:
        linear = {e["name"]: e for e in report["exercises"]}["linear_backward"]
        assert CJK.search(linear["feedback"]), linear["feedback"]
    assert reports[2]["score"] == reports[2]["max_score"]


def test_check_command_speaks_chinese(tmp_path):
    path = tmp_path / "buggy.py"
    path.write_text(patched_source("03_backprop", BUGGY), encoding="utf-8")
    done = run_grader("check", "03_backprop", "linear_backward", str(path), "--lang", "zh_CN")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "转置" in done.stdout and "这不是你的最终成绩" in done.stdout


def test_unknown_language_is_a_bad_call(tmp_path):
    done = run_grader("grade", "03_backprop", str(solution_path("03_backprop")), "--lang", "fr")
    assert done.returncode == 2


def test_every_case_label_is_in_the_catalogue():
    """Case labels are marked where they are declared (N_ or Label), so Babel finds them."""
    ids = _ids(_read_po(POT))
    labels = {(check.name, case.label.template if isinstance(case.label, Label) else case.label)
              for assignment in ASSIGNMENTS for check in checks_for(assignment)
              for case in check.prepared_cases(None, public_only=True)}
    assert {(name, label) for name, label in labels if label not in ids} == set()


FORBIDDEN = """
import torch
def relu_forward(x):
    return torch.relu(torch.from_numpy(x)).numpy(), x
"""


def test_worker_messages_and_case_names_come_out_in_chinese(tmp_path):
    """The worker speaks English only; the judge says it again in the run's language."""
    path = tmp_path / "uses_torch.py"
    path.write_text(patched_source("03_backprop", FORBIDDEN), encoding="utf-8")
    (english,) = grade_json("03_backprop", [path], "--public", "--lang", "en")
    (chinese,) = grade_json("03_backprop", [path], "--public", "--lang", "zh_CN")
    relu_en = {e["name"]: e for e in english["exercises"]}["relu_forward"]
    relu_zh = {e["name"]: e for e in chinese["exercises"]}["relu_forward"]
    assert relu_en["status"] == relu_zh["status"] == "forbidden"
    assert "torch is not allowed in graded code" in relu_en["feedback"]
    assert "不允许使用 torch" in relu_zh["feedback"] and "NumPy" in relu_zh["feedback"]
    assert "not allowed" not in relu_zh["feedback"]
    assert [c["name"] for c in relu_en["cases"]] == ["public 1: matrix", "public 2: 4-d array"]
    assert [c["name"] for c in relu_zh["cases"]] == ["公开用例 1：矩阵",
                                                     "公开用例 2：四维数组"]
    assert "公开用例 1：矩阵" in relu_zh["feedback"]
