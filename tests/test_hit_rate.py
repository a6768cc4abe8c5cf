"""How often the grader names the mistake, over the whole bug catalogue.

The catalogue (tests/catalogue) says for every bug which diagnosis it must
get; tests/test_catalogue.py holds each bug to it one by one. Here the same
reports (graded once, in one batch per assignment) are summed up into the
figures a course is judged on:

- generic codes: among the bugs whose expected diagnosis holds a code of the
  report vocabulary other than the catch-all ``wrong_values``, the share
  whose report names every such code;
- misconceptions: every ``misconception:<slug>`` that a check declares (its
  ``misconception_texts``) is named for at least one catalogue bug of that
  exercise; and no report names one that no check declares;
- correct code (the solutions and the catalogue's variants) gets no
  diagnosis at all.

``pytest -s`` shows the figures; a failing assertion repeats them.
"""
from __future__ import annotations

import pytest

from grader.checks.core import DIAGNOSIS_ORDER, checks_for
from tests.conftest import ASSIGNMENTS, by_name
from tests.test_catalogue import BUGS, VARIANTS, graded  # noqa: F401  (graded: the fixture)

#: every code of the vocabulary but the catch-all: naming one is a real diagnosis
GENERIC = frozenset(DIAGNOSIS_ORDER) - {"wrong_values"}
GENERIC_TARGET = 0.90


def _named(graded, assignment: str, bug) -> set[str]:
    return set(by_name(graded[assignment][bug.slug])[bug.breaks]["diagnosis"])


def declared_misconceptions() -> set[tuple[str, str, str]]:
    """(assignment, exercise, slug) for every misconception a check can report."""
    return {(assignment, check.name, slug) for assignment in ASSIGNMENTS
            for check in checks_for(assignment) for slug in check.misconception_texts}


def test_generic_codes_are_named(graded):
    expected = [(a, bug) for a, bug in BUGS if GENERIC & set(bug.diagnosis)]
    missed = [f"{bug.slug}: wants {sorted(GENERIC & set(bug.diagnosis))}, got "
              f"{sorted(_named(graded, a, bug))}" for a, bug in expected
              if not GENERIC & set(bug.diagnosis) <= _named(graded, a, bug)]
    hits = len(expected) - len(missed)
    figure = f"generic codes named: {hits}/{len(expected)} = {hits / len(expected):.1%}"
    print(f"\n{figure}")
    assert len(expected) >= 20, f"too few bugs with a generic diagnosis to measure: {figure}"
    assert hits / len(expected) >= GENERIC_TARGET, f"{figure} (target {GENERIC_TARGET:.0%}); " \
                                                   f"missed: {missed}"


def test_every_declared_misconception_is_recognised(graded):
    declared = declared_misconceptions()
    recognised = {(a, bug.breaks, code.removeprefix("misconception:")) for a, bug in BUGS
                  for code in _named(graded, a, bug) if code.startswith("misconception:")}
    named_anywhere = {(a, exercise["name"], code.removeprefix("misconception:"))
                      for a in ASSIGNMENTS for report in graded[a].values()
                      for exercise in report["exercises"] for code in exercise["diagnosis"]
                      if code.startswith("misconception:")}
    hits = declared & recognised
    figure = f"misconceptions recognised: {len(hits)}/{len(declared)}"
    print(f"\n{figure}")
    assert hits == declared, f"{figure}; no catalogue bug is named " \
                             f"{sorted(declared - recognised)} (add one to tests/catalogue)"
    assert named_anywhere <= declared, f"named but declared by no check: " \
                                       f"{sorted(named_anywhere - declared)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_code_gets_no_diagnosis(graded, assignment):
    correct = ["solution"] + [v.slug for a, v in VARIANTS if a == assignment]
    diagnosed = {f"{slug}: {e['name']}": e["diagnosis"] or e["status"] for slug in correct
                 for e in graded[assignment][slug]["exercises"]
                 if e["diagnosis"] or e["status"] != "passed"}
    exercises = len(correct) * len(checks_for(assignment))
    figure = f"{assignment}: correct code diagnosed: {len(diagnosed)}/{exercises} exercises"
    print(f"\n{figure}")
    assert diagnosed == {}, figure
