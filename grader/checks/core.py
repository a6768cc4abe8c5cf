"""How an exercise's check is declared, and how a declared check is run.

A check is a class: which function it grades, its points, how to draw its
cases, the torch reference, and how to call the student's code. Everything
else (seeding public and hidden cases, caching references for a whole batch,
catching what student code does wrong, comparing outputs, partial credit,
status) is done here once, for every check alike.

    @check("03_backprop", points=10)
    class linear_backward(Check):
        outputs = ("dx", "dw", "db")

        def cases(self, draw):
            n, d, m = draw.dims(3)
            yield N_("batch"), dict(x=draw.normal(n, d), w=draw.normal(d, m), ...)

        def reference(self, x, w, b, dout): ...      # torch, float64
        def run(self, student, x, w, b, dout): ...   # calls in the sandbox
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

import numpy as np

from grader.checks.ahead import Ahead, Call, Request, send_ahead
from grader.checks.compare import Verdict, compare_output
from grader.i18n import N_, _, ngettext
from grader.sandbox.runner import Sandbox, StudentError

PUBLIC_SEED = 20240601

ASSIGNMENTS = ("01_derivatives", "02_chain_rule", "03_backprop", "04_optimization")
REGISTRY: dict[str, dict[str, "Check"]] = {name: {} for name in ASSIGNMENTS}


# -- results: the data that leaves a check ---------------------------------------

@dataclass
class CaseResult:
    name: str
    public: bool
    score: float  # the fraction of this case earned, 0..1
    diagnosis: list[str] = field(default_factory=list)
    feedback: str = ""
    error_kind: str | None = None  # the StudentError kind, if the code did not answer

    @property
    def passed(self) -> bool:
        return self.score >= 1.0


@dataclass
class ExerciseResult:
    name: str
    score: float
    max_score: float
    status: str
    diagnosis: list[str]
    feedback: str
    cases: list[CaseResult]


# -- drawing cases --------------------------------------------------------------

class Draw:
    """Random inputs for one case, from that case's own seed."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def dims(self, count: int, low: int = 2, high: int = 7) -> list[int]:
        """``count`` distinct sizes, so a transposed result can never fit."""
        return [int(v) for v in self.rng.choice(np.arange(low, high + 1), count, replace=False)]

    def normal(self, *shape: int, scale: float = 1.0) -> np.ndarray:
        return self.rng.normal(0.0, scale, shape)

    def uniform(self, low: float, high: float, *shape: int) -> np.ndarray:
        return self.rng.uniform(low, high, shape)

    def integers(self, low: int, high: int, *shape: int) -> np.ndarray:
        return self.rng.integers(low, high, shape)

    def upstream(self, *shape: int) -> np.ndarray:
        """A non-uniform upstream gradient: a backward that ignores it fails."""
        return self.rng.normal(0.0, 1.0, shape) + self.rng.choice([-1.0, 1.0], shape)

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]


class Label:
    """A case label with fields: ``Label(N_("matrix, h = {h}"), h="0.01")``.

    A label without fields is just its ``N_()``-marked string. Either is
    translated when a case is named, not when it is drawn: prepared cases
    are cached per process and serve whatever language is set.
    """

    def __init__(self, template: str, **fields: str):
        self.template, self.fields = template, fields

    def __str__(self) -> str:
        return _(self.template).format(**self.fields)


def label_text(label: "str | Label") -> str:
    return str(label) if isinstance(label, Label) else _(label)


@dataclass(frozen=True)
class PreparedCase:
    label: "str | Label"  # as the check's ``cases`` declared it
    number: int  # its place among the public, or the hidden, cases (from 1)
    public: bool
    params: dict[str, Any]
    expected: dict[str, Any]
    alternatives: dict[str, dict[str, Any]]  # misconception slug -> its outputs

    @property
    def name(self) -> str:
        """'public 2: matrix', in the current language."""
        title = _("public {number}: {label}") if self.public else _("hidden {number}: {label}")
        return title.format(number=self.number, label=label_text(self.label))


# -- declaring checks -----------------------------------------------------------

class Check:
    """The base of every exercise's check; subclasses override the hooks."""

    assignment: str = ""
    name: str = ""
    points: float = 0.0
    outputs: tuple[str, ...] = ("out",)
    tolerance: float = 1e-4
    hidden_repeats: int = 1  # hidden draws of each case kind
    #: misconception slug -> one sentence that explains it and hints, never the solution;
    #: mark each with ``N_()``: it is translated where it is used, in the run's language
    misconception_texts: dict[str, str] = {}

    def cases(self, draw: Draw) -> Iterable[tuple["str | Label", dict]]:
        """(label, params) per case; a label is ``N_()``-marked, or a ``Label``."""
        raise NotImplementedError

    def reference(self, **params) -> dict[str, Any]:
        raise NotImplementedError

    def run(self, student: "Student", **params) -> dict[str, Any]:
        """Default: call the function with the params in order, unpack outputs."""
        return student.call_outputs(self.name, *params.values(), names=self.outputs)

    def calls(self, **params) -> list[Call] | None:
        """The calls ``run`` makes on a case, where the case's params alone decide them.

        Then every case's are sent to the worker in one request before the
        cases are graded (``grader.checks.ahead``). None: ``run`` decides as it goes.
        """
        if type(self).run is Check.run:
            return [Call(self.name, tuple(params.values()))]
        return None

    def misconceptions(self, **params) -> dict[str, dict[str, Any]]:
        """Outputs of the classic wrong versions on this case, by slug."""
        return {}

    def context(self, **params) -> dict[str, float]:
        """Named sizes (N, D, ...) that a wrong scale factor is named after."""
        return {}

    # -- machinery ---------------------------------------------------------------

    def prepared_cases(self, seed: int | None, public_only: bool) -> list[PreparedCase]:
        public = _prepare(type(self), PUBLIC_SEED, True)
        if public_only or seed is None:
            return public
        return public + _prepare(type(self), seed, False)

    def grade(self, sandbox: Sandbox, seed: int | None, public_only: bool = False) -> ExerciseResult:
        results: list[CaseResult] = []
        cases = self.prepared_cases(seed, public_only)
        answering = send_ahead(sandbox, [self.calls(**case.params) for case in cases])
        for case, case_sandbox in zip(cases, answering):
            if results and results[-1].error_kind in ("timeout", "crashed"):
                # one hang costs this exercise, not a wait per remaining case
                results.append(CaseResult(case.name, case.public, 0.0, results[-1].diagnosis,
                                          _("not run: an earlier case did not finish"),
                                          results[-1].error_kind))
                continue
            results.append(self.grade_case(case_sandbox, case))
        return summarise(self, results)

    def grade_case(self, sandbox: Sandbox, case: PreparedCase) -> CaseResult:
        student = Student(sandbox, redact=not case.public, expected=case.expected)
        try:
            actual = self.run(student, **_copy(case.params))
        except StudentError as error:
            return CaseResult(case.name, case.public, 0.0, [_ERROR_DIAGNOSIS.get(error.kind,
                              "exception")], student.describe_error(error), error.kind)
        verdicts = {name: compare_output(name, actual.get(name, MISSING), case.expected[name],
                                         tolerance=self.tolerance,
                                         context=self.context(**case.params),
                                         alternatives={slug: outs[name] for slug, outs in
                                                       case.alternatives.items() if name in outs},
                                         explain=self.misconception_texts,
                                         redact=not case.public)
                    for name in self.outputs}
        return case_result(case, verdicts, student.violations, student.notes)


MISSING = object()


class ComposedCheck(Check):
    """A function built from other graded functions, its ``stages``.

    A wrong result may only echo a wrong stage, which is graded on its own.
    So a failed case is run again with correct stages swapped in (callbacks
    into the judge), all together and then one at a time: when that is
    right, the function's own composition is right, it keeps the case's
    credit, and the feedback names the stage to blame. ``run`` takes a
    ``substitute`` argument: the stage names to swap in.
    """

    #: groups of stages swapped in together (a forward pass and the backward
    #: pass that reads its cache can only be swapped as a pair)
    stages: tuple[tuple[str, ...], ...] = ()

    def blame(self, culprits: list[str]) -> str:
        """The feedback of a case rescued by correct stages; culprits may be empty."""
        raise NotImplementedError

    def grade_case(self, sandbox: Sandbox, case: PreparedCase) -> CaseResult:
        result = super().grade_case(sandbox, case)
        every_stage = [name for group in self.stages for name in group]
        if result.passed or result.error_kind in ("not_implemented", "missing") or \
                not self.passes_with(sandbox, case, every_stage):
            return result
        culprits = ["/".join(group) for group in self.stages
                    if self.passes_with(sandbox, case, group)]
        result.score, result.diagnosis, result.error_kind = 1.0, [], None
        result.feedback = self.blame(culprits)
        return result

    def passes_with(self, sandbox: Sandbox, case: PreparedCase, stages) -> bool:
        student = Student(sandbox, redact=True, expected=case.expected)
        try:
            actual = self.run(student, **_copy(case.params), substitute=stages)
        except StudentError:
            return False
        return not student.violations and all(
            compare_output(name, actual.get(name, MISSING), case.expected[name],
                           tolerance=self.tolerance).passed for name in self.outputs)

_ERROR_DIAGNOSIS = {"not_implemented": "not_implemented", "missing": "not_implemented",
                    "forbidden": "forbidden", "timeout": "timeout",
                    "resource_limit": "resource_limit", "bad_output": "wrong_type",
                    "wrong_type": "wrong_type"}


def check(assignment: str, points: float, name: str | None = None):
    """Register a Check subclass as the grading of one curriculum function."""
    def register(cls: type[Check]) -> type[Check]:
        cls.assignment, cls.points, cls.name = assignment, float(points), name or cls.__name__
        REGISTRY[assignment][cls.name] = cls()
        return cls
    return register


def checks_for(assignment: str) -> list[Check]:
    import grader.checks.exercises  # noqa: F401  (registers every check)
    return list(REGISTRY[assignment].values())


@lru_cache(maxsize=None)
def _prepare(check_type: type[Check], seed: int, public: bool) -> list[PreparedCase]:
    """Draw a check's cases and compute their references, once per process."""
    check = REGISTRY[check_type.assignment][check_type.name]
    prepared = []
    repeats = 1 if public else check.hidden_repeats
    for repeat in range(repeats):
        entropy = [seed, zlib.crc32(check.name.encode()), repeat, int(public)]
        draw = Draw(np.random.default_rng(entropy))
        for label, params in check.cases(draw):
            prepared.append(PreparedCase(label, len(prepared) + 1, public, params,
                                         check.reference(**_copy(params)),
                                         check.misconceptions(**_copy(params))))
    return prepared


def _copy(params: dict) -> dict:
    """The judge's inputs are never handed out: every use gets its own copy."""
    return {k: v.copy() if isinstance(v, np.ndarray) else _copy_nested(v) for k, v in params.items()}


def _copy_nested(value):
    if isinstance(value, dict):
        return _copy(value)
    if isinstance(value, list):
        return [_copy_nested(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


# -- calling student code ---------------------------------------------------------

class Student:
    """What a check's ``run`` uses to call the submission, and what it saw.

    Every call checks that the arrays it sent came back unchanged, and that
    the kept objects it passed (a layer's cache) were not modified either.
    """

    def __init__(self, sandbox: Sandbox, redact: bool, expected: dict | None = None):
        self.sandbox, self.redact = sandbox, redact
        self.expected = expected or {}  # the case's references, for checks that stage calls
        self.violations: list[tuple[str, str]] = []  # (diagnosis, message)
        self.notes: list[str] = []  # said with a failed case's feedback
        self.logs: dict = {}  # what the stand-ins of the last call (in_worker) logged
        self.current = ""

    def call(self, function: str, *args, keep: bool = False, graded: bool = True, **kwargs):
        """The value the function returned (with keep, also a handle to it).

        ``graded=False`` marks a call made only to set up another, such as
        the forward pass whose cache a backward pass needs: what it does
        wrong is held against its own exercise, not this one.
        """
        self.current, self.logs = function, {}
        reply = self.sandbox.call(function, *args, keep=keep, watch=graded, **kwargs)
        self.logs = reply.logs
        if graded:
            self._check_unmutated(function, reply)
        return (reply.value, reply.handle) if keep else reply.value

    def make(self, call: Call, *kept):
        """Make a planned call (``kept``: the handles its case's earlier calls kept)."""
        return self.call(call.function, *call.live(*kept), **call.options)

    def send(self, request: Request) -> dict:
        """A planned request of another kind (steps, a Value graph): its reply, from the
        exercise's batch where it went ahead, else sent now."""
        if isinstance(self.sandbox, Ahead):
            return self.sandbox.request(request)
        return self.sandbox.request(request.build())

    def call_outputs(self, function: str, *args, names: tuple[str, ...] | None = None, **kwargs):
        value = self.call(function, *args, **kwargs)
        return unpack(function, value, names)

    def _check_unmutated(self, function, reply) -> None:
        for position in reply.mutated:
            self.violations.append(("mutated_input", _(
                "{function} modified its input array (argument {position}); work on a copy "
                "instead").format(function=function, position=position + 1)))
        if reply.cache_mutated:
            self.violations.append(("mutated_input", _(
                "{function} modified the cache it was given; backward passes must only read "
                "it").format(function=function)))

    def describe_error(self, error: StudentError) -> str:
        what = self.current or _("your code")
        if error.at_load:
            what = _("the submission could not be loaded: it")
            if error.kind in ("timeout", "crashed"):
                return _("the submission could not be loaded: {message}").format(
                    message=error.message)
        if error.kind in ("not_implemented", "missing") and not error.at_load:
            if error.kind == "missing":
                broken = self.sandbox.cell_errors
                why = ""
                if broken and broken[0].where:
                    why = _(" (a cell of the notebook raised {type} at {where}, so what follows "
                            "it in that cell never ran)").format(type=broken[0].type_name,
                                                                 where=broken[0].where[-1])
                elif broken:
                    why = _(" (a cell of the notebook raised {type}, so what follows it in that "
                            "cell never ran)").format(type=broken[0].type_name)
                return _("{name} is not defined in the submission{why}").format(
                    name=error.message, why=why)
            return _("{what} is not implemented yet (it raised NotImplementedError)").format(
                what=what)
        if error.kind == "timeout":
            return _("{what}: {message}").format(what=what, message=error.message)
        if error.kind == "wrong_type":  # the judge's own words about what came back
            return error.message
        where = _(" at {where}").format(where=error.where[-1]) if error.where else ""
        said = worker_message(error)
        if said is not None and error.at_load:
            return _("the submission could not be loaded: {message}{where}").format(
                message=said, where=where)
        if said is not None:
            return _("{what}: {message}{where}").format(what=what, message=said, where=where)
        if self.redact:  # a hidden case's message may quote its inputs
            return _("{what} raised {error}{where}").format(
                what=what, error=error.type_name or error.kind, where=where)
        message = _(": {message}").format(message=error.message) if error.message else ""
        return _("{what} raised {error}{message}{where}").format(
            what=what, error=error.type_name or error.kind, message=message, where=where)


#: The sandbox worker cannot use gettext, so what it says is English. Its own
#: sentences (grader/sandbox/worker.py, and the runner's about a reply) are
#: said again here in the run's language: per StudentError kind, the
#: sentence's pattern and its translation, filled with the pattern's groups.
WORKER_SENTENCES: list[tuple[str, re.Pattern, str]] = [
    ("forbidden", re.compile(r"'(?P<library>[\w.]+)' is not allowed in graded code"),
     N_("{library} is not allowed in graded code: use NumPy only")),
    ("forbidden", re.compile(""), N_("a library that is not allowed in graded code was used: "
                                     "use NumPy only")),
    ("exception", re.compile(r"submission not loaded$"),
     N_("the submission was not loaded, so none of its functions could be called")),
    ("bad_output", re.compile(r"malformed error report$"),
     N_("the sandbox sent back an error report that could not be read")),
    ("bad_output", re.compile(r"the worker sent a malformed reply \((?P<error>.*)\)$", re.S),
     N_("the worker sent a malformed reply ({error})")),
]


#: What a stand-in in the worker (in_worker.Refused) turned down, by its code,
#: to be said in the run's language; each exercise module adds its own.
REFUSAL_TEXTS: dict[str, str] = {
    "too_many_calls": N_("a function the judge offered was called far more often than this "
                         "exercise needs (an endless loop?)"),
}


def describe_wire(what: dict) -> str:
    """A stand-in's ``describe(value)`` in words: what a wrong argument was."""
    if "shape" in what:
        return _("an array of shape {shape} and dtype {dtype}").format(
            shape=tuple(what["shape"]), dtype=what.get("dtype"))
    if "length" in what:
        return _("a {type} of {length}").format(type=what.get("type"), length=what["length"])
    return str(what.get("type"))


def refusal_message(code: str, fields: dict) -> str | None:
    template = REFUSAL_TEXTS.get(code)
    if template is None:
        return None
    shown = {k: describe_wire(v) if k == "what" and isinstance(v, dict) else v
             for k, v in fields.items()}
    try:
        return _(template).format(**shown)
    except (KeyError, IndexError, ValueError):
        return None


def worker_message(error: StudentError) -> str | None:
    """What the worker said about an error, in the run's language; None: nothing of its own.

    A forbidden library, a syntax error, a resource limit and the worker's
    own sentences get a message made here, from the error's kind (and the
    exception's type), never the English the worker sent; Python's own
    detail (a SyntaxError's "invalid syntax") is kept, as a quotation.
    """
    if error.refused is not None:
        return refusal_message(*error.refused)
    if error.kind == "syntax":
        return _("a SyntaxError ({detail})").format(detail=error.message.split(" (")[0])
    if error.kind == "resource_limit":
        if error.type_name == "MemoryError":
            return _("it ran out of memory (MemoryError)")
        if error.type_name == "RecursionError":
            return _("the recursion went too deep (RecursionError: does a function call "
                     "itself without end?)")
        return _("it hit a resource limit ({type})").format(type=error.type_name or error.kind)
    for kind, pattern, sentence in WORKER_SENTENCES:
        match = pattern.match(error.message) if kind == error.kind else None
        if match:
            return _(sentence).format(**match.groupdict())
    return None


class WrongShapeOfResult(StudentError):
    def __init__(self, message: str):
        super().__init__("wrong_type", message)


def unpack(function: str, value, names: tuple[str, ...] | None) -> dict[str, Any]:
    """Map a returned tuple onto the output names; one name takes the value whole."""
    if names is None or len(names) == 1:
        return {(names or ("out",))[0]: value}
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = _("a sequence of {length}").format(length=len(value)) \
            if isinstance(value, (tuple, list)) else type(value).__name__
        raise WrongShapeOfResult(_("{function} must return a tuple ({names}); it returned "
                                   "{got}").format(function=function, names=", ".join(names),
                                                   got=got))
    return dict(zip(names, value))


# -- verdicts into results ----------------------------------------------------------

DIAGNOSIS_ORDER = ["forbidden", "timeout", "resource_limit", "not_implemented", "exception",
                   "wrong_type", "mutated_input", "not_in_place", "shape_mismatch", "transposed",
                   "not_reduced", "sign_flipped", "scaled", "nan_or_inf", "wrong_values"]


def order_diagnosis(codes: Iterable[str]) -> list[str]:
    """Most specific first: misconceptions, then the vocabulary's order."""
    unique = list(dict.fromkeys(codes))
    return sorted(unique, key=lambda c: (-1, c) if c.startswith("misconception:")
                  else (DIAGNOSIS_ORDER.index(c) if c in DIAGNOSIS_ORDER else 99, c))


def case_result(case: PreparedCase, verdicts: dict[str, Verdict],
                violations: list[tuple[str, str]], notes: list[str] = ()) -> CaseResult:
    passed = [v for v in verdicts.values() if v.passed]
    score = len(passed) / len(verdicts)
    diagnosis = [code for v in verdicts.values() for code in v.diagnosis]
    messages = [v.message for v in verdicts.values() if not v.passed]
    if violations:  # breaking the contract on inputs costs the whole case
        score = 0.0
        diagnosis = [code for code, _ in violations] + diagnosis
        messages = [message for _, message in dict.fromkeys(violations)] + messages
    if score < 1.0:
        messages += notes
    return CaseResult(case.name, case.public, score, order_diagnosis(diagnosis),
                      "; ".join(messages))


def summarise(check: Check, results: list[CaseResult]) -> ExerciseResult:
    fraction = sum(r.score for r in results) / len(results) if results else 0.0
    score = min(check.points, round(check.points * fraction, 2))
    if fraction < 1.0 and score == check.points:
        score = round(check.points - 0.01, 2)  # never round a failed case up to full marks
    kinds = {r.error_kind for r in results}
    diagnosis = order_diagnosis(code for r in results for code in r.diagnosis)
    if fraction >= 1.0:
        status, diagnosis = "passed", []
    elif kinds <= {"not_implemented", "missing"} and None not in kinds:
        status = "not_attempted"
    elif "forbidden" in kinds:
        status = "forbidden"
    elif score == 0 and "timeout" in kinds:
        status = "timeout"
    elif score == 0 and kinds - {None, "not_implemented", "missing", "wrong_type"}:
        status = "error"
    else:
        status = "partial" if score > 0 else "failed"
    failed = [r for r in results if not r.passed]
    passed_count = len(results) - len(failed)
    if not failed:
        feedback = ngettext("All {total} case passed.", "All {total} cases passed.",
                            len(results)).format(total=len(results))
        notes = [r.feedback for r in results if r.feedback]
        if notes:  # a passed case can still say something (a stage to blame)
            feedback = f"{feedback} {notes[0]}"
    else:
        summary = ngettext("{passed} of {total} case passed.", "{passed} of {total} cases passed.",
                           len(results)).format(passed=passed_count, total=len(results))
        feedback = _("{summary} {case}: {feedback}").format(summary=summary, case=failed[0].name,
                                                             feedback=failed[0].feedback)
    return ExerciseResult(check.name, score, check.points, status, diagnosis, feedback, results)
