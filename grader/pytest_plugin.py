"""The grader as a pytest plugin: every declared check becomes a test.

``python -m grader grade`` runs pytest with this plugin on ``run_checks.py``;
an instructor can run the same thing with plain pytest (the installed package
registers the plugin, so no ``-p`` is needed; it acts only with
``--assignment``), and write checks of their own against the ``student``
fixture:

    pytest --assignment 03_backprop --submission alice.py --submission bob.ipynb \\
        "$(python -c 'import grader.run_checks as m; print(m.__file__)')"

    def test_relu_keeps_shape(student):
        out, _ = student.call("relu_forward", np.zeros((2, 3)))
        assert out.shape == (2, 3)

Items are grouped by submission (a session-scoped parameter), so each
submission's sandbox is started once and closed before the next one's.
There is an item per submission and exercise; with ``--item-per-submission``
(what ``python -m grader grade`` runs) one item per submission grades all
of its exercises, since pytest's own cost, about 1 ms an item here, is
most of what grading a correct submission costs beyond its code.
"""
from __future__ import annotations

import gc
import secrets
from dataclasses import dataclass

import pytest

from grader import i18n
from grader.checks.core import ASSIGNMENTS, Student, checks_for
from grader.sandbox.runner import Sandbox
from grader.submission import Submission, load


def pytest_addoption(parser):
    group = parser.getgroup("grader", "grading student submissions")
    group.addoption("--assignment", choices=ASSIGNMENTS, help="the assignment to grade")
    group.addoption("--submission", action="append", default=[],
                    help="a student's .py, .ipynb or folder (repeatable)")
    group.addoption("--grading-seed", type=int, default=None,
                    help="seed of the hidden cases (default: a fresh secret one)")
    group.addoption("--public-only", action="store_true", help="grade the public cases only")
    group.addoption("--grader-lang", default=None, choices=i18n.LANGUAGES,
                    help="language of the feedback (default: $GRADER_LANG, else the locale's)")
    group.addoption("--item-per-submission", action="store_true",
                    help="one pytest item grades all of a submission's exercises (what "
                         "python -m grader grade runs: pytest's own cost is per item)")


@dataclass(frozen=True)
class Grading:
    """The settings of one grading run, shared by every test."""

    assignment: str
    submissions: tuple[str, ...]
    seed: int | None
    public_only: bool


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): keep a submission's items on one "
                                       "pytest-xdist worker")
    assignment = config.getoption("assignment")
    if assignment is None:
        return
    # here, and in every xdist worker (each gets the same options): feedback is
    # made in the process that grades
    config._grader_previous_language = i18n.get_language()
    import torch  # references are tiny: intra-op threads only contend with --jobs
    torch.set_num_threads(1)
    i18n.set_language(config.getoption("grader_lang") or i18n.default_language())
    seed = config.getoption("grading_seed")
    if seed is None and not config.getoption("public_only"):
        seed = secrets.randbelow(2**31)
    config.grading = Grading(assignment, tuple(config.getoption("submission")), seed,
                             config.getoption("public_only"))


def pytest_unconfigure(config):
    previous = getattr(config, "_grader_previous_language", None)
    if previous is not None:  # an in-process run (cli.grade) leaves the language as it was
        i18n.set_language(previous)


def pytest_generate_tests(metafunc):
    grading: Grading | None = getattr(metafunc.config, "grading", None)
    if grading is None:
        return
    if "exercises" in metafunc.fixturenames:
        checks = checks_for(grading.assignment)
        if metafunc.config.getoption("item_per_submission"):
            metafunc.parametrize("exercises", [tuple(checks)], ids=["every_exercise"])
        else:
            metafunc.parametrize("exercises", [(c,) for c in checks], ids=[c.name for c in checks])
    if "submission" in metafunc.fixturenames:
        metafunc.parametrize("submission", range(len(grading.submissions)), indirect=True,
                             scope="session", ids=[f"submission{i}" for i in
                                                   range(len(grading.submissions))])


def pytest_collection_finish(session):
    """Every case and reference drawn now, then the gc told to leave them be.

    A grading process holds torch, pytest and every case: each full collection
    walked all of it, a tenth of the judge's time (measured with perf).
    """
    grading: Grading | None = getattr(session.config, "grading", None)
    if grading is None or not session.items:
        return
    for check in checks_for(grading.assignment):
        check.prepared_cases(grading.seed, grading.public_only)
    gc.collect()
    gc.freeze()
    session.config._grader_froze_gc = True


def pytest_sessionfinish(session):
    if getattr(session.config, "_grader_froze_gc", False):  # an in-process run lives on
        gc.unfreeze()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Keep a submission's tests on one xdist worker, so it has one sandbox."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "submission" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(name=f"submission{callspec.params['submission']}"))


@dataclass
class GradedSubmission:
    index: int
    loaded: Submission
    sandbox: Sandbox | None


@pytest.fixture(scope="session")
def grading(request) -> Grading:
    grading = getattr(request.config, "grading", None)
    if grading is None:
        pytest.skip("no --assignment given")
    return grading


@pytest.fixture(scope="session")
def submission(request, grading) -> GradedSubmission:
    index = request.param
    loaded = load(grading.submissions[index], grading.assignment)
    sandbox = Sandbox(loaded.source) if loaded.source is not None else None
    yield GradedSubmission(index, loaded, sandbox)
    if sandbox is not None:
        sandbox.close()


@pytest.fixture
def student(submission) -> Student:
    """The submission's functions, callable from an instructor's own tests."""
    if submission.sandbox is None:
        pytest.fail(submission.loaded.error)
    return Student(submission.sandbox, redact=False)
