"""01_derivatives: finite differences, elementwise derivatives, partials, gradient checks.

The functions that student code differentiates (``f``, ``grad_f``) are the
judge's own. Every reference comes from their torch float64 definitions here,
where one definition gives both the value and, by autograd, the exact
derivative; student code calls their NumPy twins (``in_worker``), which run
next to it in the worker, since a numerical gradient calls f twice per
element. They log the points f was called at, for the feedback.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from grader.checks.ahead import Call
from grader.checks.compare import Verdict, close, compare_output, wrong_only_where
from grader.checks.core import REFUSAL_TEXTS, Check, Draw, Label, PreparedCase, Student, check
from grader.checks.exercises.in_worker import difference_gradient
from grader.checks.torchref import elementwise_grad, leaf, numpy
from grader.i18n import N_, _
from grader.sandbox.protocol import Local, Scalar
from grader.sandbox.runner import Sandbox, StudentError

A = "01_derivatives"
DEFAULT_H = 1e-5
#: The finite-difference functions work in float64: a central difference with
#: h = 1e-5 is within ~1e-10 of the derivative, a forward one only ~1e-5.
FINITE_DIFFERENCE_TOLERANCE = 1e-7


# -- the judge's test functions ---------------------------------------------------

SCALAR_FUNCTIONS = {
    "sin(3x) + x**3": lambda t: torch.sin(3 * t) + t ** 3,
    "exp(x/2) cos(x)": lambda t: torch.exp(t / 2) * torch.cos(t),
    "x tanh(2x) + log(1 + x**2)": lambda t: t * torch.tanh(2 * t) + torch.log1p(t ** 2),
}

ARRAY_FUNCTIONS = {
    "sum(c sin x) + (sum c x)**2 / 2":
        lambda t, c: torch.sum(c * torch.sin(t)) + 0.5 * torch.sum(c * t) ** 2,
    "sum of neighbour products + sum(c x**3) / 3":
        lambda t, c: torch.sum(t * torch.roll(t.flatten(), 1).reshape(t.shape))
        + torch.sum(c * t ** 3) / 3,
    "log(sum exp(c x)) + sum(x**2) / 10":
        lambda t, c: torch.logsumexp((c * t).flatten(), 0) + 0.1 * torch.sum(t ** 2),
}


def scalar_value(kind: str, x: float) -> float:
    return float(SCALAR_FUNCTIONS[kind](torch.tensor(float(x), dtype=torch.float64)))


def scalar_derivative(kind: str, x: float) -> float:
    t = torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(SCALAR_FUNCTIONS[kind](t), t)
    return float(grad)


def _array_function(spec: dict, t: torch.Tensor) -> torch.Tensor:
    """``spec``: the function's name, its coefficients, and an optional 0/1 mask
    of the elements it depends on (a masked element has gradient exactly 0)."""
    if spec.get("mask") is not None:
        t = t * leaf(spec["mask"], grad=False)
    return ARRAY_FUNCTIONS[spec["kind"]](t, leaf(spec["coef"], grad=False))


def array_value(spec: dict, x: np.ndarray) -> float:
    return float(_array_function(spec, leaf(x, grad=False)))


def array_gradient(spec: dict, x: np.ndarray) -> np.ndarray:
    t = leaf(x)
    (grad,) = torch.autograd.grad(_array_function(spec, t), t)
    return numpy(grad)


def central_difference(value, x: float, h: float) -> float:
    return (value(x + h) - value(x - h)) / (2 * h)


def forward_difference(value, x: float, h: float) -> float:
    return (value(x + h) - value(x)) / h


REFUSAL_TEXTS.update({
    "one_argument": N_("{name} takes exactly one argument"),
    "takes_float": N_("{name} takes a float; it was given {what}"),
    "takes_array": N_("{name} takes an array of shape {shape}; it was given {what}"),
    "numerical_gradient_x": N_("numerical_gradient was given {what} as x, not an array of "
                               "shape {shape}"),
})


def case_function(spec: "str | dict", shape: tuple | None = None, grad_error=None) -> Local:
    """A case's f (or, with ``grad_error``, its grad_f), to run next to the student's code."""
    if shape is None:
        return Local("scalar_f", {"kind": spec})
    if grad_error is None:
        return Local("array_f", {**spec, "shape": list(shape)})
    return Local("array_grad_f", {**spec, "shape": list(shape), "grad_error": grad_error})


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return _("an array of shape {shape}").format(shape=value.shape)
    return type(value).__name__


def _agree(a, b, tolerance: float) -> bool:
    """Whether ``a`` would pass a comparison with ``b`` at ``tolerance``."""
    return bool(close(np.atleast_1d(a), np.atleast_1d(b), tolerance).all())


# -- numerical derivative and gradient ----------------------------------------------

@check(A, points=10)
class numerical_derivative(Check):
    tolerance = FINITE_DIFFERENCE_TOLERANCE
    last_evaluation = None  # (points f saw, x, h) of the case being graded, for feedback
    misconception_texts = {
        "forward_difference": N_("this is the one-sided difference from x to x + h, whose "
                                 "error shrinks only like h; the central difference looks on "
                                 "both sides of x."),
        "ignores_h": N_("this is the estimate with the default step 1e-5, not with the step h "
                        "that was passed in."),
    }

    def cases(self, draw: Draw):
        for kind in SCALAR_FUNCTIONS:
            yield Label(N_("{function}, default h"), function=kind), \
                dict(f=kind, x=self._point(draw, kind))
        kind, h = draw.choice(list(SCALAR_FUNCTIONS)), draw.choice([1e-2, 5e-3])
        yield Label(N_("{function}, h = {h}"), function=kind, h=f"{h:g}"), \
            dict(f=kind, x=self._point(draw, kind, h), h=h)

    def _point(self, draw: Draw, kind: str, h: float | None = None) -> float:
        """A point where the wrong differences are clearly wrong and the right one exact."""
        value = lambda z: scalar_value(kind, z)  # noqa: E731
        tolerance = self.tolerance
        while True:
            x = round(float(draw.uniform(-1.5, 1.5)), 4)
            derivative = scalar_derivative(kind, x)
            exact = central_difference(value, x, DEFAULT_H)
            forward = forward_difference(value, x, h or DEFAULT_H)
            if abs(derivative) < 0.3 or not _agree(exact, derivative, tolerance / 10) or \
                    _agree(forward, derivative, 30 * tolerance):
                continue
            if h is None or not _agree(central_difference(value, x, h), derivative, 30 * tolerance):
                return x

    def reference(self, f, x, h=None):
        if h is None:
            return {"out": scalar_derivative(f, x)}
        return {"out": central_difference(lambda z: scalar_value(f, z), x, h)}

    def misconceptions(self, f, x, h=None):
        value = lambda z: scalar_value(f, z)  # noqa: E731
        wrong = {"forward_difference": {"out": forward_difference(value, x, h or DEFAULT_H)}}
        if h is not None:
            wrong["ignores_h"] = {"out": central_difference(value, x, DEFAULT_H)}
        return wrong

    def calls(self, f, x, h=None):
        return [Call(self.name, (case_function(f), x) + (() if h is None else (h,)))]

    def run(self, student: Student, f, x, h=None):
        (call,) = self.calls(f, x, h)
        try:
            return {"out": student.make(call)}
        finally:
            points = student.logs.get("scalar_f", {}).get("points", [])
            points = [p for p in points[:64] if type(p) is float and np.isfinite(p)] \
                if isinstance(points, list) else []
            self.last_evaluation = (points, x, h or DEFAULT_H)

    def grade_case(self, sandbox: Sandbox, case: PreparedCase):
        """A wrong estimate on a public case says where f was evaluated."""
        self.last_evaluation = None
        result = super().grade_case(sandbox, case)
        if not result.passed and case.public and self.last_evaluation and \
                result.error_kind is None:
            points, x, h = self.last_evaluation
            result.feedback += _(" (f was evaluated at {points})").format(
                points=_offsets(points, x, h))
        return result


def _offsets(points: list[float], x: float, h: float) -> str:
    """'x - h, x + h': the points f saw, in steps of h from x."""
    if not points:
        return _("no point: f was never called")
    shown = []
    for point in dict.fromkeys(points):
        steps = (point - x) / h
        if abs(steps - round(steps)) < 1e-3 and abs(steps) < 100:
            k = int(round(steps))
            shown.append("x" if k == 0 else f"x {'+' if k > 0 else '-'} "
                                           f"{'' if abs(k) == 1 else abs(k)}h")
        else:
            shown.append(f"x {'+' if point >= x else '-'} {abs(point - x):.3g}")
        if len(shown) == 6:
            shown.append("...")
            break
    return ", ".join(shown)


@check(A, points=20)
class numerical_gradient(Check):
    tolerance = FINITE_DIFFERENCE_TOLERANCE
    misconception_texts = {
        "forward_difference": N_("this is the one-sided difference from x to x + h in each "
                                 "element, whose error shrinks only like h; the central "
                                 "difference nudges each element both ways."),
        "ignores_h": N_("this is the estimate with the default step 1e-5, not with the step h "
                        "that was passed in."),
    }

    def cases(self, draw: Draw):
        kinds = list(ARRAY_FUNCTIONS)
        n, m = draw.dims(2)
        shapes = [(N_("vector"), (int(draw.integers(3, 8)),)), (N_("matrix"), (n, m)),
                  (N_("3-d array"), tuple(draw.dims(3, low=2, high=4)))]
        for index, (label, shape) in enumerate(shapes):
            yield label, self._case(draw, kinds[index % len(kinds)], shape)
        kind, h = draw.choice(kinds), draw.choice([1e-2, 5e-3])
        yield Label(N_("matrix, h = {h}"), h=f"{h:g}"), \
            self._case(draw, kind, tuple(draw.dims(2)), h)

    def _case(self, draw: Draw, kind: str, shape: tuple, h: float | None = None) -> dict:
        while True:
            spec = {"kind": kind, "coef": draw.normal(*shape), "mask": None}
            x = draw.normal(*shape)
            gradient = array_gradient(spec, x)
            value = lambda z: array_value(spec, z)  # noqa: E731
            tolerance = self.tolerance
            central = difference_gradient(value, x, h or DEFAULT_H)
            forward = difference_gradient(value, x, h or DEFAULT_H, central=False)
            if _agree(forward, gradient, 30 * tolerance):
                continue
            if h is None and _agree(central, gradient, tolerance / 10):
                return dict(f=spec, x=x)
            if h is not None and not _agree(central, gradient, 30 * tolerance):
                return dict(f=spec, x=x, h=h)

    def reference(self, f, x, h=None):
        if h is None:
            return {"out": array_gradient(f, x)}
        return {"out": difference_gradient(lambda z: array_value(f, z), x, h)}

    def misconceptions(self, f, x, h=None):
        value = lambda z: array_value(f, z)  # noqa: E731
        wrong = {"forward_difference": {"out": difference_gradient(value, x, h or DEFAULT_H,
                                                                   central=False)}}
        if h is not None:
            wrong["ignores_h"] = {"out": difference_gradient(value, x, DEFAULT_H)}
        return wrong

    def calls(self, f, x, h=None):
        return [Call(self.name, (case_function(f, x.shape), x) + (() if h is None else (h,)))]

    def run(self, student: Student, f, x, h=None):
        (call,) = self.calls(f, x, h)
        return {"out": student.make(call)}


# -- elementwise derivatives ----------------------------------------------------------

class ElementwiseGrad(Check):
    """``name(x) -> d function(x) / dx`` for an elementwise function, any shape."""

    def function(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reference(self, x):
        return {"out": elementwise_grad(self.function, x)}


def _shapes(draw: Draw, scale: float):
    n, d = draw.dims(2)
    yield N_("vector"), dict(x=draw.normal(int(draw.integers(3, 9)), scale=scale))
    yield N_("matrix"), dict(x=draw.normal(n, d, scale=scale))
    c, h, w = draw.dims(3, low=2, high=5)
    yield N_("4-d array"), dict(x=draw.normal(2, c, h, w, scale=scale))


def _wide(draw: Draw, low: float, high: float, count: int = 8) -> np.ndarray:
    """Large-magnitude inputs of both signs, mixed with ordinary ones (so the
    comparison's scale is that of the ordinary gradients)."""
    large = draw.uniform(low, high, count) * draw.rng.choice([-1.0, 1.0], count)
    values = np.concatenate([large, draw.uniform(-3.0, 3.0, count), [0.0]])
    return draw.rng.permutation(values)


@check(A, points=10)
class sigmoid_grad(ElementwiseGrad):
    misconception_texts = {
        "sigmoid_grad_from_x": N_("s(1 - s) is written in terms of the sigmoid's output "
                                  "s = sigmoid(x), not of the input x itself."),
    }

    def function(self, t):
        return torch.sigmoid(t)

    def cases(self, draw):
        yield from _shapes(draw, scale=3.0)
        yield N_("large |x|"), dict(x=_wide(draw, 10.0, 60.0))

    def misconceptions(self, x):
        return {"sigmoid_grad_from_x": {"out": x * (1 - x)}}


@check(A, points=10)
class tanh_grad(ElementwiseGrad):
    misconception_texts = {
        "tanh_grad_no_square": N_("the derivative of tanh is one minus the square of tanh(x); "
                                  "here tanh(x) was not squared."),
    }

    def function(self, t):
        return torch.tanh(t)

    def cases(self, draw):
        yield from _shapes(draw, scale=2.0)
        yield N_("large |x|"), dict(x=_wide(draw, 5.0, 30.0))

    def misconceptions(self, x):
        return {"tanh_grad_no_square": {"out": 1 - np.tanh(x)}}


@check(A, points=10)
class softplus_grad(ElementwiseGrad):
    """Against torch.sigmoid itself: F.softplus's own gradient is clamped to 1
    above its threshold (x > 20), which is not the derivative."""

    def reference(self, x):
        return {"out": numpy(torch.sigmoid(leaf(x, grad=False)))}

    def cases(self, draw):
        yield from _shapes(draw, scale=3.0)
        yield N_("x from -1000 to 1000"), dict(x=draw.rng.permutation(np.concatenate(
            [[-1000.0, 1000.0, 0.0], np.linspace(-1000, 1000, 21), draw.uniform(-1000, 1000, 8)])))
        yield N_("large |x|"), dict(x=_wide(draw, 30.0, 1000.0))


#: ReLU's kink, for relu_grad here and relu_backward in 03_backprop
RELU_AT_ZERO_TEXT = N_("the only wrong entries are where x is exactly 0, the kink of ReLU: it "
                       "has no derivative there, and the contract (as torch) takes the "
                       "sub-gradient 0.")


@check(A, points=10)
class relu_grad(ElementwiseGrad):
    misconception_texts = {
        "relu_grad_one_at_zero": N_("at exactly x = 0 the sub-gradient used (as in torch) is 0; "
                                    "only strictly positive inputs have gradient 1."),
        "relu_grad_at_zero": RELU_AT_ZERO_TEXT,
    }

    def function(self, t):
        return F.relu(t)

    def cases(self, draw):
        n, d = draw.dims(2)
        yield N_("matrix with exact zeros"), dict(x=np.round(draw.normal(n, d, scale=1.5)))
        yield N_("vector"), dict(x=draw.normal(int(draw.integers(4, 9))))
        c, h, w = draw.dims(3, low=2, high=5)
        yield N_("4-d array with exact zeros"), dict(x=np.round(draw.normal(2, c, h, w) * 2) / 2)

    def misconceptions(self, x):
        """The one-at-0 mistake exactly, then any other value at the kink (0.5, say)."""
        return {"relu_grad_one_at_zero": {"out": (x >= 0).astype(np.float64)},
                "relu_grad_at_zero": {"out": wrong_only_where(x == 0)}}


# -- partial derivatives ---------------------------------------------------------------

@check(A, points=10)
class f_xy_partials(Check):
    """Partials of f(x, y) = x**2 y + sin(x y), elementwise."""

    outputs = ("df_dx", "df_dy")
    misconception_texts = {
        "missing_inner_derivative": N_("the derivative of sin(x y) needs the chain rule: the "
                                       "cosine is multiplied by the derivative of the inner "
                                       "product x y."),
    }

    def cases(self, draw):
        n, d = draw.dims(2)
        c, h, w = draw.dims(3, low=2, high=4)
        for label, shape in ((N_("vectors"), (int(draw.integers(3, 9)),)), (N_("matrices"), (n, d)),
                             (N_("3-d arrays"), (c, h, w))):
            yield label, dict(x=draw.normal(*shape, scale=1.5), y=draw.normal(*shape, scale=1.5))

    def reference(self, x, y):
        xt, yt = leaf(x), leaf(y)
        out = xt ** 2 * yt + torch.sin(xt * yt)
        dx, dy = torch.autograd.grad(out.sum(), (xt, yt))
        return {"df_dx": numpy(dx), "df_dy": numpy(dy)}

    def misconceptions(self, x, y):
        return {"missing_inner_derivative": {"df_dx": 2 * x * y + np.cos(x * y),
                                             "df_dy": x ** 2 + np.cos(x * y)}}


# -- gradient check -------------------------------------------------------------------

def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """The contract's measure: max abs(a - n) / max(1e-8, abs(a) + abs(n))."""
    return float(np.max(np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))


def near(expected: float, limit: float):
    """The expected output for a correct grad_f: compared absolutely, since it
    is small and its last digits are rounding noise that differs from one
    correct implementation to the next."""
    def judge(actual) -> Verdict:
        if isinstance(actual, np.ndarray) and actual.shape == ():
            actual = float(actual)
        if type(actual) not in (int, float, Scalar):
            return Verdict(False, ["wrong_type"], _("the result should be a float; it is "
                                                    "{what}").format(what=_describe(actual)))
        if not np.isfinite(actual):
            return Verdict(False, ["nan_or_inf"], _("the result is {value}: a division by zero "
                                                    "where both gradients are 0?").format(
                value=actual))
        if abs(actual - expected) <= limit:
            return Verdict(True)
        return Verdict(False, ["wrong_values"], _(
            "with a correct grad_f the relative error should be small (about {expected}); it is "
            "{actual}").format(expected=f"{expected:.1g}", actual=f"{float(actual):.3g}"))
    return judge


@check(A, points=20)
class gradient_check(Check):
    """Graded with a correct grad_f (the answer is then only the difference
    error, ~1e-9 for h = 1e-5) and with wrong ones whose error the judge knows;
    f has an element it does not depend on, where both gradients are exactly 0."""

    tolerance = 1e-3  # for the wrong grad_f: a relative error of order 0.1..1
    correct_limit = 1e-6
    misconception_texts = {
        "signed_relative_error": N_("the error of an element is a distance, so it takes the "
                                    "absolute value of a - n before the largest is picked."),
        "wrong_denominator": N_("this is a relative error with another denominator; the "
                                "contract divides by the sum of both magnitudes, never by less "
                                "than 1e-8."),
    }

    def cases(self, draw: Draw):
        kinds = list(ARRAY_FUNCTIONS)
        n, m = draw.dims(2)
        yield N_("correct grad_f"), self._case(draw, kinds[0], (n, m), "correct")
        c, h, w = draw.dims(3, low=2, high=4)
        # a large h: the truncation error, which the judge knows, is then no longer tiny
        yield N_("correct grad_f, 3-d array, h = 0.02"), self._case(draw, kinds[1], (c, h, w),
                                                                "correct", 0.02)
        yield N_("grad_f too small in one element"), self._case(
            draw, kinds[2], (int(draw.integers(4, 9)),), "one too small")
        yield N_("grad_f with one element of the wrong sign"), self._case(
            draw, draw.choice(kinds), tuple(draw.dims(2)), "one flipped", 1e-5)

    def _case(self, draw: Draw, kind: str, shape: tuple, error: str, h=None) -> dict:
        while True:
            mask = np.ones(shape)
            mask.flat[int(draw.integers(0, mask.size))] = 0.0
            spec = {"kind": kind, "coef": draw.normal(*shape), "mask": mask}
            x = draw.normal(*shape)
            gradient = array_gradient(spec, x)
            live = np.flatnonzero((mask.reshape(-1) > 0) & (gradient.reshape(-1) > 0.2))
            if len(live) == 0:
                continue
            # off by +5% everywhere, and by much more (downwards) in one element
            grad_error = 0.05 * np.abs(gradient)
            if error == "correct":
                grad_error = np.zeros(shape)
                if h is not None and relative_error(*self._gradients(
                        spec, grad_error, x, h)) < 10 * self.correct_limit:
                    continue
            else:
                k = draw.choice(list(live))
                grad_error.flat[k] = -0.6 * gradient.flat[k] if error == "one too small" \
                    else -2.0 * gradient.flat[k]
            params = dict(f=spec, grad_error=grad_error, x=x)
            return params if h is None else {**params, "h": h}

    def _gradients(self, f, grad_error, x, h):
        a = array_gradient(f, x) + grad_error
        n = difference_gradient(lambda z: array_value(f, z), x, h or DEFAULT_H)
        return a, n

    def reference(self, f, grad_error, x, h=None):
        value = relative_error(*self._gradients(f, grad_error, x, h))
        if not np.any(grad_error):
            return {"out": near(value, self.correct_limit)}
        return {"out": value}

    def misconceptions(self, f, grad_error, x, h=None):
        if not np.any(grad_error):
            return {}
        a, n = self._gradients(f, grad_error, x, h)
        return {"signed_relative_error": {"out": float(np.max(
                    (a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))))},
                "wrong_denominator": {"out": float(np.max(
                    np.abs(a - n) / np.maximum(1e-8, np.abs(n))))}}

    def calls(self, f, grad_error, x, h=None, reference_gradient=False):
        substitute = {}
        if reference_gradient:  # a correct one, on the case's own f
            substitute = {"numerical_gradient": Local("numerical_gradient",
                                                      {**f, "shape": list(x.shape)})}
        args = (case_function(f, x.shape), case_function(f, x.shape, grad_error), x) + \
            (() if h is None else (h,))
        return [Call(self.name, args, {"substitute": substitute})]

    def run(self, student: Student, f, grad_error, x, h=None, reference_gradient=False):
        (call,) = self.calls(f, grad_error, x, h, reference_gradient)
        return {"out": student.make(call)}

    def grade_case(self, sandbox: Sandbox, case: PreparedCase):
        """A wrong gradient_check may only be echoing a wrong numerical_gradient.

        That one is graded on its own; here it is swapped for a correct one,
        and gradient_check keeps its credit when its own part is right.
        """
        result = super().grade_case(sandbox, case)
        if result.passed or result.error_kind in ("timeout", "crashed", "resource_limit"):
            return result
        if not self._passes_with_reference_gradient(sandbox, case):
            return result
        result.score, result.diagnosis, result.error_kind = 1.0, [], None
        result.feedback = _("gradient_check itself is right: with a correct numerical_gradient "
                            "it gives the right answer; its result was wrong because of "
                            "numerical_gradient (graded there)")
        return result

    def _passes_with_reference_gradient(self, sandbox: Sandbox, case: PreparedCase) -> bool:
        student = Student(sandbox, redact=True)
        try:
            actual = self.run(student, **case.params, reference_gradient=True)
        except StudentError:
            return False
        return not student.violations and \
            compare_output("out", actual["out"], case.expected["out"],
                           tolerance=self.tolerance).passed
