"""04_optimization: SGD, momentum, Adam, minibatches, a training loop, Newton's method.

The three step functions run several steps in the worker on one params dict
(the worker's ``steps`` request), against ``torch.optim`` stepped on the same
gradients. The training loop is graded on what it does with the judge's
loss_fn, which runs in the worker (``in_worker``) and logs every minibatch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from grader.checks.ahead import Call, Request
from grader.checks.compare import Verdict, close, compare_output
from grader.checks.core import (MISSING, REFUSAL_TEXTS, Check, ComposedCheck, Draw, PreparedCase,
                                Student, check, describe_wire)
from grader.checks.exercises import in_worker
from grader.checks.torchref import OptimizerSteps, leaf, numpy
from grader.i18n import N_, _
from grader.sandbox import protocol
from grader.sandbox.runner import Reply, StudentError

A = "04_optimization"
STEPS = 5
TOLERANCE = 1e-4


def _describe(value) -> str:
    """What a value is, in words: the words a stand-in's refusal is given too."""
    return describe_wire(in_worker.describe(value))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def call_reply(student: Student, function: str, *args, **kwargs) -> Reply:
    """Call student code and keep the whole reply: which inputs changed, and those echoed.

    Not Student.call, which holds any change to a dict argument against the
    call; here the params dict is meant to change, and the check itself says
    what must come back as it was sent.
    """
    student.current = function
    return student.sandbox.call(function, *args, **kwargs)


# -- the step functions: several steps against torch.optim ------------------------------

def draw_params(draw: Draw, count: int) -> dict[str, np.ndarray]:
    """``count`` named arrays of distinct shapes, so a mixed-up name cannot fit."""
    d, m, k = draw.dims(3)
    shapes = {"W": (d, m), "b": (m,), "kernel": (k, 2, d)}
    return {name: draw.normal(*shape) for name, shape in list(shapes.items())[:count]}


def draw_grads(draw: Draw, params: dict, scale: float = 1.0) -> list[dict[str, np.ndarray]]:
    """A different gradient for every step, as a training run would give."""
    return [{k: draw.normal(*p.shape, scale=scale) for k, p in params.items()}
            for _ in range(STEPS)]


def torch_changes(optimizer: type, params: dict, grads: list[dict], options: dict) -> list[dict]:
    """How far torch.optim moves each parameter from its start, after every step."""
    tensors = {k: leaf(v) for k, v in params.items()}
    stepper = OptimizerSteps(optimizer, list(tensors.values()), options)
    changes = []
    for step_grads in grads:
        stepper.step([leaf(step_grads[k], grad=False) for k in tensors])
        changes.append({k: numpy(t) - params[k] for k, t in tensors.items()})
    return changes


def numpy_changes(update, params: dict, grads: list[dict]) -> list[dict]:
    """The same, for a wrong update ``update(p, g, state) -> new p`` written in NumPy."""
    current = {k: v.copy() for k, v in params.items()}
    states: dict[str, dict] = {k: {} for k in params}
    changes = []
    for step_grads in grads:
        for k in current:
            current[k] = update(current[k], step_grads[k], states[k])
        changes.append({k: current[k] - params[k] for k in current})
    return changes


class StepsSeen(NamedTuple):
    """What came back from the worker: the params dict after each step."""

    params: list
    redact: bool


@dataclass(frozen=True, eq=False)
class StepJudge:
    """Judges the params after one step by how far each moved from its start.

    The change, not the value: Adam moves a parameter by about lr per step,
    so an error in eps or the bias correction would hide under a tolerance
    relative to the parameters themselves. A step after one already wrong
    gets a short message, so that a first-step bug is explained once.
    """

    index: int
    start: dict
    expected: list  # the changes after each step, by torch
    alternatives: dict  # misconception slug -> the changes after this step
    explain: dict
    context: dict

    def __call__(self, seen: StepsSeen) -> Verdict:
        verdict = self.judge(seen, self.index, self.alternatives)
        if not verdict.passed and any(not self.judge(seen, i, {}).passed
                                      for i in range(self.index)):
            return Verdict(False, verdict.diagnosis,
                           _("still wrong after step {step}").format(step=self.index + 1))
        return verdict

    def judge(self, seen: StepsSeen, index: int, alternatives: dict) -> Verdict:
        params = seen.params[index]
        if self.all_right(params, index):  # the usual case, without the words for a mistake
            return Verdict(True)
        step = index + 1
        for name, change in self.expected[index].items():
            got = params.get(name, MISSING)
            start = self.start[name]
            key = f"params[{name!r}]"
            if got is MISSING:
                return Verdict(False, ["wrong_type"], _("{param} is gone after step {step}").format(
                    param=key, step=step))
            if not isinstance(got, np.ndarray) or got.shape != start.shape:
                verdict = compare_output(_("{param} after step {step}").format(param=key, step=step),
                                         got, start + change, tolerance=TOLERANCE,
                                         redact=seen.redact)
            else:
                verdict = compare_output(
                    _("the change in {param} after step {step}").format(param=key, step=step),
                    np.asarray(got, dtype=np.float64) - start, change, tolerance=TOLERANCE,
                    context=self.context, redact=seen.redact, explain=self.explain,
                    alternatives={slug: alt[name] for slug, alt in alternatives.items()})
            if not verdict.passed:
                return verdict
        return Verdict(True)

    def all_right(self, params: dict, index: int) -> bool:
        """Whether every change after step ``index`` is torch's: what ``judge`` passes."""
        for name, change in self.expected[index].items():
            got = params.get(name)
            if not isinstance(got, np.ndarray) or got.shape != change.shape or \
                    got.dtype.kind not in "biuf" or \
                    not close(got.astype(np.float64) - self.start[name], change, TOLERANCE).all():
                return False
        return True


class StepRecord(NamedTuple):
    params: dict
    same_object: dict  # name -> whether params[name] is still the array it started as
    grads_changed: list  # the names of the gradients the step modified


def _decode_step(raw) -> StepRecord:
    params, same_object, grads_changed = protocol.decode(raw["params"]), raw["same_object"], \
        raw["grads_changed"]
    if not isinstance(params, dict) or not isinstance(same_object, dict) or \
            not all(type(v) is bool for v in same_object.values()) or \
            not isinstance(grads_changed, list):
        raise protocol.ProtocolError("a step record of the wrong form")
    return StepRecord(params, same_object, grads_changed)


class OptimizerStep(Check):
    """A step function run STEPS times on one params dict, judged on every step.

    A case is ``params`` (the start), ``grads`` (one dict per step) and
    ``options`` (the keyword arguments, lr included). Rebinding a parameter
    or modifying a gradient breaks the contract and costs the case.
    """

    outputs = tuple(f"step {k}" for k in range(1, STEPS + 1))
    with_state = True
    in_place_hint = "p -= lr * update"

    def torch_reference(self, params, grads, options) -> list[dict]:
        raise NotImplementedError

    def wrong_changes(self, params, grads, options) -> dict[str, list[dict]]:
        """The changes a classic wrong version makes, by misconception slug."""
        return {}

    def reference(self, params, grads, options):
        expected = self.torch_reference(params, grads, options)
        wrong = self.misconceptions(params, grads, options)
        context = {"lr": float(options["lr"])} if "lr" in options else {}
        return {name: StepJudge(i, params, expected,
                                {slug: outs[name] for slug, outs in wrong.items()},
                                self.misconception_texts, context)
                for i, name in enumerate(self.outputs)}

    def misconceptions(self, params, grads, options):
        return {slug: dict(zip(self.outputs, changes))
                for slug, changes in self.wrong_changes(params, grads, options).items()}

    def calls(self, params, grads, options):
        return [Request("steps", self.name, lambda: {
            "op": "steps", "function": self.name, "params": protocol.encode(params),
            "grads": [protocol.encode(g) for g in grads], "kwargs": protocol.encode(options),
            "with_state": self.with_state})]

    def run(self, student: Student, params, grads, options):
        student.current = self.name
        reply = student.send(*self.calls(params, grads, options))
        try:
            steps = [_decode_step(raw) for raw in reply["steps"]]
            if len(steps) != len(grads):
                raise protocol.ProtocolError(f"{len(steps)} step records for {len(grads)} steps")
        except Exception as error:  # whatever the worker sent, it is its fault, not ours
            student.sandbox.kill()
            raise StudentError("bad_output", _("the worker sent a malformed reply ({error})").format(
                error=error)) from None
        self.check_contract(student, steps, grads)
        seen = StepsSeen([step.params for step in steps], student.redact)
        return {name: seen for name in self.outputs}

    def check_contract(self, student: Student, steps: list[StepRecord], grads: list[dict]):
        rebound = list(dict.fromkeys(k for step in steps for k, same in step.same_object.items()
                                     if not same))
        if rebound:
            names = ", ".join(f"params[{k!r}]" for k in rebound)
            student.violations.append((
                "not_in_place", _("{function} replaced {names} with a new array; update it in "
                                  "place, e.g. {hint}").format(function=self.name, names=names,
                                                               hint=self.in_place_hint)))
        for number, (step, sent) in enumerate(zip(steps, grads), 1):
            changed = [k for k in sent if k in step.grads_changed]
            if changed:
                student.violations.append((
                    "mutated_input", _("{function} modified {grad} (step {step}); gradients are "
                                       "read-only: compute on new arrays").format(
                        function=self.name, grad=f"grads[{changed[0]!r}]", step=number)))
                break


WEIGHT_DECAY_TEXT = N_("weight_decay is an L2 penalty: weight_decay times the current parameter "
                       "is added to the gradient before the step uses it.")


@check(A, points=10)
class sgd_step(OptimizerStep):
    with_state = False
    in_place_hint = "p -= lr * g"

    def cases(self, draw):
        for label, count, lr in ((N_("two parameters"), 2, 0.1), (N_("three parameters"), 3, 0.5)):
            params = draw_params(draw, count)
            yield label, dict(params=params, grads=draw_grads(draw, params), options={"lr": lr})

    def torch_reference(self, params, grads, options):
        return torch_changes(torch.optim.SGD, params, grads, options)


SGD_DEFAULTS = {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}


@check(A, points=20)
class sgd_momentum_step(OptimizerStep):
    misconception_texts = {
        "momentum_buffer_zero_init": N_("torch.optim.SGD starts the momentum buffer as the "
                                        "first gradient itself, undamped, not as zeros: "
                                        "dampening only applies from the second step on."),
        "weight_decay_ignored": WEIGHT_DECAY_TEXT,
        "nesterov_ignored": N_("with nesterov=True the step looks ahead: it moves along the "
                               "gradient plus momentum times the updated buffer, not along the "
                               "buffer alone."),
    }

    def cases(self, draw):
        for label, options in (
                (N_("momentum 0.9, the default"), {"lr": 0.05}),
                (N_("dampening 0.5"), {"lr": 0.1, "momentum": 0.8, "dampening": 0.5}),
                (N_("weight decay 0.1"), {"lr": 0.1, "momentum": 0.7, "weight_decay": 0.1}),
                (N_("nesterov, weight decay 0.05"),
                 {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05})):
            params = draw_params(draw, 3 if len(options) > 1 else 2)
            yield label, dict(params=params, grads=draw_grads(draw, params), options=options)

    def torch_reference(self, params, grads, options):
        return torch_changes(torch.optim.SGD, params, grads, {**SGD_DEFAULTS, **options})

    def wrong_changes(self, params, grads, options):
        o = {**SGD_DEFAULTS, **options}
        wrong = {}
        if o["dampening"]:  # without dampening a zero buffer gives torch's first step
            def zero_buffer(p, g, state):
                g = g + o["weight_decay"] * p
                state["buf"] = o["momentum"] * state.get("buf", 0.0) + (1 - o["dampening"]) * g
                return p - o["lr"] * (g + o["momentum"] * state["buf"] if o["nesterov"]
                                      else state["buf"])
            wrong["momentum_buffer_zero_init"] = numpy_changes(zero_buffer, params, grads)
        if o["weight_decay"]:
            wrong["weight_decay_ignored"] = torch_changes(torch.optim.SGD, params, grads,
                                                          {**o, "weight_decay": 0.0})
        if o["nesterov"]:
            wrong["nesterov_ignored"] = torch_changes(torch.optim.SGD, params, grads,
                                                      {**o, "nesterov": False})
        return wrong


ADAM_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}


def adam_without(params, grads, options, bias_correction=True, eps_inside_sqrt=False):
    """Adam's changes with one classic mistake, in NumPy."""
    o = {**ADAM_DEFAULTS, **options}
    beta1, beta2 = o["betas"]

    def update(p, g, state):
        g = g + o["weight_decay"] * p
        t = state["t"] = state.get("t", 0) + 1
        m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g * g
        if bias_correction:
            m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        denominator = np.sqrt(v + o["eps"]) if eps_inside_sqrt else np.sqrt(v) + o["eps"]
        return p - o["lr"] * m / denominator
    return numpy_changes(update, params, grads)


@check(A, points=25)
class adam_step(OptimizerStep):
    misconception_texts = {
        "adam_no_bias_correction": N_("Adam's running means start at zero, so early on they "
                                      "are too small; bias correction divides each by "
                                      "1 - beta**t, with t the number of steps taken so far."),
        "adam_eps_inside_sqrt": N_("eps is added to the square root of the second-moment "
                                   "estimate, not inside the root; with small gradients the two "
                                   "differ a lot."),
        "weight_decay_ignored": WEIGHT_DECAY_TEXT,
        "adam_decoupled_weight_decay": N_("torch.optim.Adam adds weight_decay * p to the gradient "
                                          "before the moment estimates (an L2 penalty); "
                                          "shrinking the weights apart from the gradient is "
                                          "AdamW."),
    }

    def cases(self, draw):
        for label, options, scale in (
                (N_("default options"), {}, 1.0),
                (N_("betas (0.8, 0.99)"), {"lr": 0.01, "betas": (0.8, 0.99)}, 1.0),
                (N_("weight decay 0.1"), {"lr": 0.01, "weight_decay": 0.1}, 1.0),
                (N_("gradients of size 1e-5, where eps matters"), {"lr": 0.01}, 1e-5)):
            params = draw_params(draw, 3 if options else 2)
            yield label, dict(params=params, grads=draw_grads(draw, params, scale),
                              options=options)

    def torch_reference(self, params, grads, options):
        return torch_changes(torch.optim.Adam, params, grads, {**ADAM_DEFAULTS, **options})

    def wrong_changes(self, params, grads, options):
        o = {**ADAM_DEFAULTS, **options}
        wrong = {"adam_no_bias_correction": adam_without(params, grads, o, bias_correction=False),
                 "adam_eps_inside_sqrt": adam_without(params, grads, o, eps_inside_sqrt=True)}
        if o["weight_decay"]:
            wrong["weight_decay_ignored"] = torch_changes(torch.optim.Adam, params, grads,
                                                          {**o, "weight_decay": 0.0})
            wrong["adam_decoupled_weight_decay"] = torch_changes(
                torch.optim.Adam, params, grads, {**o, "decoupled_weight_decay": True})
        return wrong


# -- iterate_minibatches: graded on its properties -------------------------------------

class MinibatchRuns(NamedTuple):
    """Three calls: a seed, the same seed again, another seed."""

    first: Any
    again: Any
    other: Any
    redact: bool


def as_batches(value) -> tuple[list[np.ndarray] | None, str]:
    """The returned batches as 1-D integer arrays, or what is wrong with them."""
    if not isinstance(value, (list, tuple)):
        return None, _("iterate_minibatches should return a list of index arrays; it returned "
                       "{what}").format(what=_describe(value))
    batches = []
    for position, batch in enumerate(value):
        if isinstance(batch, (list, tuple)) and all(type(i) is int for i in batch):
            batch = np.array(batch, dtype=np.int64)
        if not isinstance(batch, np.ndarray) or batch.dtype.kind not in "iu" or batch.ndim != 1:
            return None, _("batch {position} should be a 1-D array of integer indices; it is "
                           "{what}").format(position=position, what=_describe(batch))
        batches.append(batch.astype(np.int64))
    return batches, ""


def _order(batches: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)


def judge_partition(n: int, runs: MinibatchRuns) -> Verdict:
    batches, problem = as_batches(runs.first)
    if batches is None:
        return Verdict(False, ["wrong_type"], problem)
    order = _order(batches)
    if order.size and (order.min() < 0 or order.max() >= n):
        return Verdict(False, ["wrong_values"], _("some indices are outside range(n)"))
    counts = np.bincount(order, minlength=n)
    missing, repeated = int(np.sum(counts == 0)), int(np.sum(counts > 1))
    if missing or repeated:
        numbers = "" if runs.redact else _(" ({missing} missing, {repeated} repeated, of "
                                           "{n})").format(missing=missing, repeated=repeated, n=n)
        return Verdict(False, ["wrong_values"], _("the batches must hold every index in range(n) "
                                                  "exactly once{numbers}").format(numbers=numbers))
    return Verdict(True)


def judge_batch_sizes(n: int, batch_size: int, runs: MinibatchRuns) -> Verdict:
    batches, problem = as_batches(runs.first)
    if batches is None:
        return Verdict(False, ["wrong_type"], problem)
    sizes = [len(b) for b in batches]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest else [])
    if sizes == expected:
        return Verdict(True)
    if rest and sizes == expected[:-1]:
        return Verdict(False, ["wrong_values"], _(
            "the last, smaller batch is missing: when batch_size does not divide n, the examples "
            "left over form one more batch"))
    shown = "" if runs.redact else _(" (sizes {sizes})").format(
        sizes=f"{sizes[:8]}{' ...' if len(sizes) > 8 else ''}")
    return Verdict(False, ["wrong_values"], _("every batch should hold batch_size indices, except "
                                              "the last, which holds what is left{sizes}").format(
        sizes=shown))


def judge_shuffled(runs: MinibatchRuns) -> Verdict:
    batches, problem = as_batches(runs.first)
    if batches is None:
        return Verdict(False, ["wrong_type"], problem)
    order = _order(batches)
    if np.array_equal(order, np.arange(order.size)):
        return Verdict(False, ["wrong_values"], _("the indices come out in order 0, 1, 2, ...: "
                                                  "shuffle them with rng before splitting them "
                                                  "into batches"))
    return Verdict(True)


def judge_uses_rng(runs: MinibatchRuns) -> Verdict:
    orders = []
    for value in (runs.first, runs.again, runs.other):
        batches, problem = as_batches(value)
        if batches is None:
            return Verdict(False, ["wrong_type"], problem)
        orders.append([b.tolist() for b in batches])
    first, again, other = orders
    if first != again:
        return Verdict(False, ["wrong_values"], _(
            "two generators seeded alike gave different batches: take the shuffle from the rng "
            "argument, not from np.random or a generator of your own"))
    if first == other:
        return Verdict(False, ["wrong_values"], _(
            "generators with different seeds gave the same batches: the shuffle must come from "
            "the rng argument"))
    return Verdict(True)


@check(A, points=10)
class iterate_minibatches(Check):
    outputs = ("partition", "batch sizes", "shuffled", "uses rng")

    def cases(self, draw):
        batch_size = int(draw.integers(3, 8))
        n = batch_size * int(draw.integers(3, 7)) + int(draw.integers(1, batch_size))
        yield N_("batch_size does not divide n"), self.case(draw, n, batch_size)
        batch_size = int(draw.integers(3, 8))
        yield N_("batch_size divides n"), self.case(draw, batch_size * int(draw.integers(3, 7)),
                                                batch_size)

    @staticmethod
    def case(draw: Draw, n: int, batch_size: int) -> dict:
        seed, other_seed = (int(s) for s in draw.rng.choice(2**31, 2, replace=False))
        return dict(n=n, batch_size=batch_size, seed=seed, other_seed=other_seed)

    def reference(self, n, batch_size, seed, other_seed):
        return {"partition": partial(judge_partition, n),
                "batch sizes": partial(judge_batch_sizes, n, batch_size),
                "shuffled": judge_shuffled, "uses rng": judge_uses_rng}

    def grade_case(self, sandbox, case: PreparedCase):
        """Every output names the same wrong return type: say it once."""
        result = super().grade_case(sandbox, case)
        result.feedback = "; ".join(dict.fromkeys(result.feedback.split("; ")))  # see case_result
        return result

    def calls(self, n, batch_size, seed, other_seed):
        """The same rng seed twice (the same minibatches?), then another (other ones?)."""
        return [Call(self.name, (n, batch_size, {"$rng": s})) for s in (seed, seed, other_seed)]

    def run(self, student: Student, n, batch_size, seed, other_seed):
        runs = MinibatchRuns(*(call_reply(student, call.function, *call.args).value
                               for call in self.calls(n, batch_size, seed, other_seed)),
                             student.redact)
        return {name: runs for name in self.outputs}


# -- train: graded on what it does with the judge's loss_fn --------------------------------

TRAIN_KEYS = ("W1", "b1", "W2", "b2")
TRAIN_STAGES = ("sgd_step", "iterate_minibatches")
FIT_LOSS, FIT_ACCURACY = 0.2, 0.95  # correct SGD here reaches a loss under 0.08, 98% or more


def xor_blobs(draw: Draw, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Four blobs at (+-1, +-1), labelled by XOR of the signs: no line separates them."""
    signs = draw.rng.choice([-1.0, 1.0], (n, 2))
    return signs + draw.normal(n, 2, scale=0.25), (signs[:, 0] != signs[:, 1]).astype(np.int64)


def mlp_logits(params: dict, x) -> torch.Tensor:
    """A tanh MLP with one hidden layer, in torch float64."""
    return torch.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


class LossCall(NamedTuple):
    rows: np.ndarray | None  # the rows of x in xb; None when some are not rows of x
    labels_match: bool  # yb == y[rows]
    loss: float


class TrainRun(NamedTuple):
    returned: Any
    calls: list
    redact: bool


REFUSAL_TEXTS.update({
    "train_params": N_("{where}: expected the params dict with arrays {arrays}"),
    "train_xb": N_("loss_fn: xb should be rows of x, shape (B, {columns}); it is {what}"),
    "train_yb": N_("loss_fn: yb should hold the labels of the {rows} rows of xb; it is {what}"),
    "train_lr": N_("sgd_step: lr should be a number; it is {what}"),
    "train_minibatch_sizes": N_("iterate_minibatches(n, batch_size, rng): n and batch_size "
                                "should be positive integers"),
})


class TrainingJudge:
    """The judge's side of one train call.

    Its loss_fn (and, on a re-run, the correct sgd_step and
    iterate_minibatches standing in for the student's) run in the worker
    (``in_worker``); from the log of every loss_fn call, the judge finds
    which rows of x each minibatch held and computes each call's loss itself.
    """

    def __init__(self, params: dict, x: np.ndarray, y: np.ndarray, seed: int, budget: int):
        self.x, self.y = x, y
        self.spec = {"shapes": {k: list(v.shape) for k, v in params.items()},
                     "columns": x.shape[1], "budget": budget, "seed": seed}
        self.sorted_rows, self.order = _row_index(x)

    def loss_fn(self) -> protocol.Local:
        return protocol.Local("train_loss", self.spec)

    def stage(self, name: str) -> protocol.Local:
        return protocol.Local(f"train_{name}", self.spec)

    def calls(self, log) -> list[LossCall]:
        """The loss_fn calls the log holds; a log that does not add up: BadLog."""
        try:
            sizes, xb, yb = log["sizes"], log["xb"], log["yb"]
            params = {k: log["params"][k] for k in self.spec["shapes"]}
            count, total, budget = len(sizes), int(sizes.sum()), self.spec["budget"]
            adds_up = (
                sizes.dtype.kind in "iu" and not np.any(sizes < 1)
                # bounded, so that a forged log cannot make the judge compute without end: no
                # more calls than loss_fn's budget, no more rows in all than that many times x
                and count <= budget and total <= budget * len(self.x)
                and xb.shape == (total, self.x.shape[1]) and yb.shape == (total,)
                and yb.dtype.kind in "iu" and not np.any((yb != 0) & (yb != 1))
                and all(params[k].shape == (count, *shape)
                        for k, shape in self.spec["shapes"].items()))
            if not adds_up:
                raise BadLog()
            losses = in_worker.mlp_losses({k: v.astype(np.float64) for k, v in params.items()},
                                          xb.astype(np.float64), yb.astype(np.int64), sizes)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise BadLog() from error
        # every logged row at once: which row of x it is (-1: none), by its bytes
        rows_seen = _rows_of(self.sorted_rows, self.order, xb)
        if not count:
            return []
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        all_rows = np.minimum.reduceat(rows_seen, starts) >= 0
        labels_match = np.logical_and.reduceat(
            all_rows.repeat(sizes) & (yb == self.y[np.maximum(rows_seen, 0)]), starts)
        return [LossCall(rows_seen[start:start + size] if whole else None, bool(match),
                         float(loss))
                for start, size, whole, match, loss in zip(starts, sizes, all_rows,
                                                           labels_match, losses)]


def _as_keys(rows: np.ndarray) -> np.ndarray:
    """Each row of a 2-d float64 array as one opaque value, equal when the bytes are."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).reshape(-1)


def _row_index(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = _as_keys(x)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _rows_of(sorted_rows: np.ndarray, order: np.ndarray, xb: np.ndarray) -> np.ndarray:
    keys = _as_keys(xb)
    at = np.minimum(np.searchsorted(sorted_rows, keys), len(sorted_rows) - 1)
    return np.where(sorted_rows[at] == keys, order[at], -1)


class BadLog(Exception):
    """What came back as loss_fn's log is not one (student code wrote over it)."""


def judge_epoch_losses(epochs: int, explain: dict, run: TrainRun) -> Verdict:
    returned = run.returned
    if isinstance(returned, np.ndarray) and returned.ndim == 1:
        returned = list(returned)
    if not isinstance(returned, (list, tuple)) or not all(
            _is_number(v) or (isinstance(v, np.ndarray) and v.shape == ()) for v in returned):
        return Verdict(False, ["wrong_type"], _("train should return a list of floats, one per "
                                                "epoch; it returned {what}").format(
            what=_describe(run.returned)))
    if len(returned) != epochs:
        numbers = "" if run.redact else _(" ({count} for {epochs} epochs)").format(
            count=len(returned), epochs=epochs)
        return Verdict(False, ["shape_mismatch"], _("train should return one loss per "
                                                    "epoch{numbers}").format(numbers=numbers))
    values = np.array([float(v) for v in returned])
    if not np.all(np.isfinite(values)):
        return Verdict(False, ["nan_or_inf"], _("train returned a NaN or infinite loss"))
    if not run.calls or len(run.calls) % epochs:
        return Verdict(False, ["wrong_values"], _("train did not call loss_fn equally often in "
                                                  "every epoch, so its epoch losses cannot be "
                                                  "checked"))
    losses = np.array([c.loss for c in run.calls]).reshape(epochs, -1)
    sizes = np.array([len(c.rows) if c.rows is not None else 1 for c in run.calls],
                     dtype=float).reshape(epochs, -1)
    alternatives = {"epoch_loss_last_minibatch": losses[:, -1],
                    "epoch_loss_weighted_by_examples": (losses * sizes).sum(1) / sizes.sum(1)}
    return compare_output(_("the list of epoch losses"), values, losses.mean(axis=1),
                          tolerance=TOLERANCE, alternatives=alternatives, explain=explain,
                          redact=run.redact)


def judge_minibatches(n: int, batch_size: int, epochs: int, run: TrainRun) -> Verdict:
    if any(c.rows is None for c in run.calls):
        return Verdict(False, ["wrong_values"], _(
            "loss_fn was given rows that are not rows of x: pass it x[idx] and y[idx] for each "
            "minibatch of indices idx"))
    if not all(c.labels_match for c in run.calls):
        return Verdict(False, ["wrong_values"], _(
            "loss_fn was given labels yb that do not belong to the rows xb: index x and y with "
            "the same minibatch"))
    per_epoch = math.ceil(n / batch_size)
    if len(run.calls) != epochs * per_epoch:
        numbers = "" if run.redact else _(
            " ({calls} calls; {epochs} epochs of {per_epoch} minibatches make {total})").format(
            calls=len(run.calls), epochs=epochs, per_epoch=per_epoch, total=epochs * per_epoch)
        return Verdict(False, ["wrong_values"], _("train must call loss_fn once per minibatch, "
                                                  "for every minibatch of every "
                                                  "epoch{numbers}").format(numbers=numbers))
    full, rest = divmod(n, batch_size)
    sizes = [batch_size] * full + ([rest] if rest else [])
    for epoch in range(epochs):
        calls = run.calls[epoch * per_epoch:(epoch + 1) * per_epoch]
        if [len(c.rows) for c in calls] != sizes:
            return Verdict(False, ["wrong_values"], _(
                "in epoch {epoch} the minibatches do not have batch_size rows each (the last may "
                "be smaller)").format(epoch=epoch + 1))
        if not np.array_equal(np.sort(np.concatenate([c.rows for c in calls])), np.arange(n)):
            return Verdict(False, ["wrong_values"], _(
                "in epoch {epoch} the minibatches do not cover every row of x exactly "
                "once").format(epoch=epoch + 1))
    return Verdict(True)


def judge_fit(x: np.ndarray, y: np.ndarray, params) -> Verdict:
    """Graded on outcome: the trained model must fit the data."""
    if not isinstance(params, dict) or any(
            not isinstance(params.get(k), np.ndarray) for k in TRAIN_KEYS):
        return Verdict(False, ["wrong_type"], _("after train, params should still be the dict "
                                                "of arrays it was given"))
    try:
        logits = mlp_logits({k: leaf(params[k], grad=False) for k in TRAIN_KEYS},
                            leaf(x, grad=False))
    except RuntimeError:
        return Verdict(False, ["shape_mismatch"], _("after train, the params no longer have "
                                                    "their shapes"))
    loss = float(F.cross_entropy(logits, torch.tensor(y, dtype=torch.long)))
    accuracy = float((logits.argmax(1).numpy() == y).mean())
    if not math.isfinite(loss):
        return Verdict(False, ["nan_or_inf"], _("after train, the model's loss is NaN or "
                                                "infinite: did the steps diverge?"))
    if loss > FIT_LOSS or accuracy < FIT_ACCURACY:
        return Verdict(False, ["wrong_values"], _(
            "after train the model fits the data poorly (loss {loss}, accuracy {accuracy}); "
            "correct mini-batch SGD reaches a loss below {target} here: is every minibatch's "
            "step taken, in every epoch, on the params dict itself?").format(
            loss=f"{loss:.3g}", accuracy=f"{accuracy:.0%}", target=FIT_LOSS))
    return Verdict(True)


@check(A, points=15)
class train(ComposedCheck):
    """train on a small XOR data set with the judge's loss_fn, a tanh MLP."""

    stages = tuple((stage,) for stage in TRAIN_STAGES)
    outputs = ("losses", "minibatches", "fit")
    misconception_texts = {
        "epoch_loss_last_minibatch": N_("an epoch's loss is the mean of the losses of all its "
                                        "minibatches, not the loss of its last one."),
        "epoch_loss_weighted_by_examples": N_("an epoch's loss is the plain mean of its "
                                              "minibatch losses: each minibatch counts once, the "
                                              "smaller last one too."),
    }

    def cases(self, draw):
        batch_size, n = int(draw.choice([8, 12, 16])), int(draw.integers(70, 115))
        n += n % batch_size == 0
        yield N_("the last minibatch is smaller"), self.case(draw, n, batch_size)
        batch_size, n = int(draw.choice([8, 12, 16])), int(draw.integers(70, 115))
        yield N_("batch_size divides N"), self.case(draw, n - n % batch_size, batch_size)

    @staticmethod
    def case(draw: Draw, n: int, batch_size: int) -> dict:
        x, y = xor_blobs(draw, n)
        hidden = 8
        params = {"W1": draw.normal(2, hidden, scale=1 / math.sqrt(2)), "b1": np.zeros(hidden),
                  "W2": draw.normal(hidden, 2, scale=1 / math.sqrt(hidden)), "b2": np.zeros(2)}
        # correct SGD fits within 10 epochs at this rate (loss under 0.08 on 200 draws):
        # more epochs would only cost every submission more loss_fn calls
        return dict(params=params, x=x, y=y, lr=1.0, epochs=int(draw.choice([10, 12])),
                    batch_size=batch_size, seed=int(draw.integers(0, 2**31)))

    def reference(self, params, x, y, lr, epochs, batch_size, seed):
        return {"losses": partial(judge_epoch_losses, epochs, self.misconception_texts),
                "minibatches": partial(judge_minibatches, len(x), batch_size, epochs),
                "fit": partial(judge_fit, x, y)}

    def run(self, student: Student, params, x, y, lr, epochs, batch_size, seed, substitute=()):
        needed = epochs * math.ceil(len(x) / batch_size)  # loss_fn and sgd_step calls each
        judge = TrainingJudge(params, x, y, seed, budget=4 * needed + 10 * epochs)
        args = (judge.loss_fn(), params, x, y, lr, epochs, batch_size, {"$rng": seed})
        reply = call_reply(student, self.name, *args, echo=(1,),
                           substitute={s: judge.stage(s) for s in substitute})
        for position, name in ((2, "x"), (3, "y")):
            if position in reply.mutated:
                student.violations.append(("mutated_input", _(
                    "train modified {name}; shuffle indices, never the data itself").format(
                    name=name)))
        try:
            calls = judge.calls(reply.logs.get("train_loss"))
        except BadLog:
            raise StudentError("bad_output", _("the log of loss_fn's calls came back "
                                               "unreadable: did train change loss_fn?")) from None
        run = TrainRun(reply.value, calls, student.redact)
        trained = reply.echoed.get(1, MISSING)
        return {"losses": run, "minibatches": run, "fit": trained}

    def blame(self, culprits):
        blamed = _(" and ").join(culprits or TRAIN_STAGES)
        return _("train itself is right: with a correct {blamed} swapped in it trains "
                 "as it should, so its result was wrong because of {blamed} (graded "
                 "there)").format(blamed=blamed)


# -- logistic_newton_step ---------------------------------------------------------------

@check(A, points=20)
class logistic_newton_step(Check):
    outputs = ("w_new",)
    misconception_texts = {
        "newton_hessian_not_averaged": N_("the loss is a mean over the N examples, so its "
                                          "Hessian carries the same 1/N as its gradient; with a "
                                          "summed Hessian the step comes out N times too short."),
        "newton_gradient_not_averaged": N_("the loss is a mean over the N examples, so its "
                                           "gradient carries the same 1/N as its Hessian; with a "
                                           "summed gradient the step comes out N times too "
                                           "long."),
        "gradient_step_not_newton": N_("a Newton step moves by the solution d of H d = g, the "
                                       "gradient rescaled by the curvature, not by the gradient "
                                       "itself."),
    }

    def cases(self, draw):
        for label, integer_labels in ((N_("labels as floats"), False),
                                      (N_("labels as integers"), True)):
            d = int(draw.integers(3, 7))
            n = int(draw.integers(4 * d, 12 * d))
            x = draw.normal(n, d)
            y = (draw.uniform(0, 1, n) < 1 / (1 + np.exp(-x @ draw.normal(d)))).astype(
                np.int64 if integer_labels else np.float64)
            yield label, dict(w=draw.normal(d, scale=0.5), X=x, y=y)

    @staticmethod
    def gradient_and_hessian(w, X, y) -> tuple[torch.Tensor, torch.Tensor]:
        xt, yt = leaf(X, grad=False), leaf(y.astype(np.float64), grad=False)

        def loss(wt):
            return F.binary_cross_entropy_with_logits(xt @ wt, yt)
        wt = leaf(w)
        (gradient,) = torch.autograd.grad(loss(wt), wt)
        return gradient.detach(), torch.autograd.functional.hessian(loss, wt.detach())

    def reference(self, w, X, y):
        g, h = self.gradient_and_hessian(w, X, y)
        return {"w_new": w - numpy(torch.linalg.solve(h, g))}

    def misconceptions(self, w, X, y):
        g, h = self.gradient_and_hessian(w, X, y)
        n = X.shape[0]
        return {"newton_hessian_not_averaged": {"w_new": w - numpy(torch.linalg.solve(h * n, g))},
                "newton_gradient_not_averaged": {"w_new": w - numpy(torch.linalg.solve(h, g * n))},
                "gradient_step_not_newton": {"w_new": w - numpy(g)}}

    def context(self, w, X, y):
        return {"N": float(X.shape[0]), "D": float(X.shape[1])}
