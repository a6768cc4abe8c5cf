"""The judge's functions that student code calls often, as NumPy, run in the worker.

A training loop calls its loss_fn hundreds of times, a numerical gradient its
f twice per element: as callbacks into the judge every call is a round trip
and a torch computation, most of what grading them costs. These stand-ins run next to the student's code
instead. They decide nothing. What the judge grades on comes back in their
log, and the judge recomputes from the log what it needs: a logged loss_fn
call (params, minibatch) is worth exactly a call made into the judge, whose
loss the judge then computes itself, so forging the log gains nothing that
calling loss_fn would not.

This module is copied into the sandbox: it imports NumPy and nothing else.
"""
from __future__ import annotations

import time

import numpy as np

TRAIN_KEYS = ("W1", "b1", "W2", "b2")


class Refused(Exception):
    """A stand-in turned down its arguments; the judge words why (``code``, ``fields``)."""

    def __init__(self, code: str, **fields):
        super().__init__(f"{code} {fields}")
        self.code, self.fields = code, fields


def describe(value) -> dict:
    """What a wrong argument was, as data the judge puts into words."""
    if isinstance(value, np.ndarray):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "length": len(value)}
    return {"type": "None" if value is None else type(value).__name__}


class StandIn:
    """Called by student code; keeps a log for the judge, and the seconds it took."""

    def __init__(self, spec: dict):
        self.spec, self.seconds = spec, 0.0
        self.budget = int(spec.get("budget", 10**6))  # the calls it will serve

    def __call__(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            self.budget -= 1
            if self.budget < 0:
                raise Refused("too_many_calls")
            return self.compute(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - began

    def compute(self, *args, **kwargs):
        raise NotImplementedError

    def log(self) -> dict:
        return {}


# -- train's loss_fn and its correct stages ------------------------------------------------

def mlp_loss_and_grads(params: dict, xb: np.ndarray, yb: np.ndarray):
    """A tanh MLP with one hidden layer, softmax cross-entropy averaged over the rows.

    train calls it for every minibatch: written with few, in-place operations
    (the ufuncs' own reduce), as NumPy's cost here is per call, not per element.
    """
    hidden = np.tanh(xb @ params["W1"] + params["b1"])
    shifted = hidden @ params["W2"] + params["b2"]
    shifted -= np.maximum.reduce(shifted, axis=1, keepdims=True)
    dlogits = np.exp(shifted)
    total = np.add.reduce(dlogits, axis=1, keepdims=True)
    rows = np.arange(len(xb))
    loss = float(np.add.reduce(np.log(total), axis=None) - np.add.reduce(shifted[rows, yb])) \
        / len(xb)
    dlogits /= total
    dlogits[rows, yb] -= 1.0
    dlogits /= len(xb)
    dhidden = dlogits @ params["W2"].T
    dhidden *= 1.0 - hidden * hidden
    return loss, {"W1": xb.T @ dhidden, "b1": np.add.reduce(dhidden, axis=0),
                  "W2": hidden.T @ dlogits, "b2": np.add.reduce(dlogits, axis=0)}


def mlp_losses(params: dict, xb: np.ndarray, yb: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The loss of each of many calls at once: call i's params, on its ``sizes[i]`` rows."""
    call = np.repeat(np.arange(len(sizes)), sizes)
    hidden = np.tanh(np.einsum("nd,ndh->nh", xb, params["W1"][call]) + params["b1"][call])
    logits = np.einsum("nh,nho->no", hidden, params["W2"][call]) + params["b2"][call]
    top = logits.max(axis=1)
    row_loss = top + np.log(np.exp(logits - top[:, None]).sum(axis=1)) \
        - logits[np.arange(len(yb)), yb]
    return np.bincount(call, weights=row_loss, minlength=len(sizes)) / np.maximum(sizes, 1)


class TrainParams:
    """Checks that an argument is train's params dict, with its arrays' shapes."""

    def __init__(self, spec: dict):
        self.shapes = {k: tuple(v) for k, v in spec["shapes"].items()}

    def check(self, params, where: str) -> dict:
        """Copies of the arrays (the log keeps them; the caller may change its own)."""
        if isinstance(params, dict):
            copies = {}
            for k, shape in self.shapes.items():
                array = params.get(k)
                if not isinstance(array, np.ndarray) or array.shape != shape:
                    break
                copies[k] = array.astype(np.float64)
            else:
                return copies
        raise Refused("train_params", where=where,
                      arrays=", ".join(f"{k} {s}" for k, s in self.shapes.items()))


class TrainLoss(StandIn):
    """train's ``loss_fn(params, xb, yb) -> (loss, grads)``; logs every call it served."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.params = TrainParams(spec)
        self.columns = int(spec["columns"])
        self.seen_params: list[dict] = []
        self.seen_xb: list[np.ndarray] = []
        self.seen_yb: list[np.ndarray] = []

    def compute(self, params, xb, yb):
        params = self.params.check(params, "loss_fn")
        if not isinstance(xb, np.ndarray) or xb.ndim != 2 or xb.shape[1] != self.columns \
                or len(xb) == 0 or xb.dtype.kind not in "iuf":
            raise Refused("train_xb", columns=self.columns, what=describe(xb))
        if not isinstance(yb, np.ndarray) or yb.shape != (len(xb),) or \
                yb.dtype.kind not in "iuf" or ((yb != 0) & (yb != 1)).any():
            raise Refused("train_yb", rows=len(xb), what=describe(yb))
        xb, yb = np.array(xb, dtype=np.float64), yb.astype(np.int64)
        self.seen_params.append(params)
        self.seen_xb.append(xb)
        self.seen_yb.append(yb)
        return mlp_loss_and_grads(params, xb, yb)

    def log(self) -> dict:
        shapes = self.params.shapes
        return {"params": {k: np.stack([p[k] for p in self.seen_params]) if self.seen_params
                           else np.zeros((0, *shape)) for k, shape in shapes.items()},
                "xb": np.concatenate(self.seen_xb) if self.seen_xb
                else np.zeros((0, self.columns)),
                "yb": np.concatenate(self.seen_yb) if self.seen_yb else np.zeros(0, np.int64),
                "sizes": np.array([len(xb) for xb in self.seen_xb], dtype=np.int64)}


class TrainSgdStep(StandIn):
    """A correct ``sgd_step(params, grads, lr)``, in place, standing in for the student's."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.params = TrainParams(spec)

    def compute(self, params, grads, lr):
        current = self.params.check(params, "sgd_step")
        step = self.params.check(grads, "sgd_step grads")
        if not isinstance(lr, (int, float, np.floating)) or isinstance(lr, bool):
            raise Refused("train_lr", what=describe(lr))
        for k in self.params.shapes:
            params[k][...] = current[k] - float(lr) * step[k]


class TrainMinibatches(StandIn):
    """A correct ``iterate_minibatches(n, batch_size, rng)``, with a shuffle of its own."""

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.rng = np.random.default_rng([int(spec["seed"]), 4])  # never the student's rng

    def compute(self, n, batch_size, rng=None):
        if not all(type(v) is int or isinstance(v, np.integer) for v in (n, batch_size)) or \
                not 0 < n <= 10**6 or batch_size < 1:
            raise Refused("train_minibatch_sizes")
        order = self.rng.permutation(int(n))
        return [order[start:start + int(batch_size)] for start in range(0, int(n), int(batch_size))]


# -- 01's test functions: f, grad_f, and a correct numerical_gradient ---------------------

#: NumPy twins of derivatives.SCALAR_FUNCTIONS and ARRAY_FUNCTIONS (the judge's,
#: in torch, from which every reference comes); a test holds them equal
SCALAR_FUNCTIONS = {
    "sin(3x) + x**3": lambda x: np.sin(3 * x) + x ** 3,
    "exp(x/2) cos(x)": lambda x: np.exp(x / 2) * np.cos(x),
    "x tanh(2x) + log(1 + x**2)": lambda x: x * np.tanh(2 * x) + np.log1p(x ** 2),
}


# they run twice per element of every numerical gradient: the ufuncs' own reduce and
# slices instead of np.sum and np.roll, whose Python wrappers cost more than the maths
_sum = np.add.reduce


def _logsumexp(v: np.ndarray) -> float:
    top = v.max()
    return float(top + np.log(_sum(np.exp(v - top))))


def _softmax(v: np.ndarray) -> np.ndarray:
    exp = np.exp(v - v.max())
    return exp / _sum(exp)


def _neighbours(t: np.ndarray, shift: int) -> np.ndarray:
    """np.roll(t.reshape(-1), shift) for a shift of 1 or -1, in t's shape."""
    flat = t.reshape(-1)
    rolled = np.concatenate((flat[-1:], flat[:-1]) if shift == 1 else (flat[1:], flat[:1]))
    return rolled.reshape(t.shape)


#: name -> (value, gradient) of t = x * mask, with coefficients c
ARRAY_FUNCTIONS = {
    "sum(c sin x) + (sum c x)**2 / 2":
        (lambda t, c: _sum(c * np.sin(t), axis=None) + 0.5 * _sum(c * t, axis=None) ** 2,
         lambda t, c: c * np.cos(t) + _sum(c * t, axis=None) * c),
    "sum of neighbour products + sum(c x**3) / 3":
        (lambda t, c: _sum(t * _neighbours(t, 1), axis=None) + _sum(c * t ** 3, axis=None) / 3,
         lambda t, c: _neighbours(t, 1) + _neighbours(t, -1) + c * t ** 2),
    "log(sum exp(c x)) + sum(x**2) / 10":
        (lambda t, c: _logsumexp((c * t).reshape(-1)) + 0.1 * _sum(t * t, axis=None),
         lambda t, c: c * _softmax((c * t).reshape(-1)).reshape(t.shape) + 0.2 * t),
}


class CaseFunction(StandIn):
    """``f(x)`` or ``grad_f(x)`` of a case: one argument, every point it was called at logged.

    ``spec["shape"]`` None takes a float (or a size-1 array); otherwise an
    array of exactly that shape, so a wrongly shaped call fails clearly.
    """

    name = "f"

    def __init__(self, spec: dict):
        super().__init__(spec)
        self.shape = None if spec.get("shape") is None else tuple(spec["shape"])
        self.points: list = []

    def compute(self, *args, **kwargs):
        if len(args) != 1 or kwargs:
            raise Refused("one_argument", name=self.name)
        point = self.accept(args[0])
        if self.shape is None:  # the points the feedback may quote
            self.points.append(point)
        return self.evaluate(point)

    def accept(self, value):
        if self.shape is None:
            if type(value) in (int, float) or isinstance(value, np.floating | np.integer):
                return float(value)
            if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
                return float(value.reshape(-1)[0])
            raise Refused("takes_float", name=self.name, what=describe(value))
        if isinstance(value, np.ndarray) and value.shape == self.shape and \
                value.dtype.kind in "iuf":
            return np.asarray(value, dtype=np.float64)  # used at once: no copy needed
        raise Refused("takes_array", name=self.name, shape=list(self.shape),
                      what=describe(value))

    def evaluate(self, point):
        raise NotImplementedError

    def log(self) -> dict:
        return {"points": self.points[:64]}


class ScalarFunction(CaseFunction):
    def evaluate(self, point: float) -> float:
        return float(SCALAR_FUNCTIONS[self.spec["kind"]](point))


class ArrayFunction(CaseFunction):
    """An array test function; ``mask`` (0/1, or None) keeps the elements it depends on."""

    def inputs(self, point: np.ndarray) -> np.ndarray:
        mask = self.spec.get("mask")
        return point if mask is None else point * mask

    def evaluate(self, point: np.ndarray) -> float:
        return float(ARRAY_FUNCTIONS[self.spec["kind"]][0](self.inputs(point), self.spec["coef"]))


class ArrayGradient(ArrayFunction):
    """The case's grad_f: the exact gradient, plus the error the case gives it."""

    name = "grad_f"

    def evaluate(self, point: np.ndarray) -> np.ndarray:
        mask = self.spec.get("mask")
        gradient = ARRAY_FUNCTIONS[self.spec["kind"]][1](self.inputs(point), self.spec["coef"])
        return (gradient if mask is None else gradient * mask) + self.spec["grad_error"]


def difference_gradient(value, x: np.ndarray, h: float, central: bool = True) -> np.ndarray:
    """The finite-difference gradient, one element at a time (central, or forward)."""
    grad = np.zeros(x.shape)
    at_x = None if central else value(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (value(plus) - value(minus)) / (2 * h) if central else \
            (value(plus) - at_x) / h
    return grad


class NumericalGradient(StandIn):
    """A correct ``numerical_gradient(f, x, h)``, on the case's own f.

    The f that student code passes is its own object, so the case's f stands
    in for it.
    """

    def compute(self, f=None, x=None, h=1e-5):
        if not isinstance(x, np.ndarray) or x.shape != tuple(self.spec["shape"]):
            raise Refused("numerical_gradient_x", shape=list(self.spec["shape"]),
                          what=describe(x))
        f = ArrayFunction(self.spec)
        return difference_gradient(f.evaluate, np.array(x, dtype=np.float64), float(h))


STAND_INS: dict[str, type[StandIn]] = {
    "train_loss": TrainLoss, "train_sgd_step": TrainSgdStep,
    "train_iterate_minibatches": TrainMinibatches,
    "scalar_f": ScalarFunction, "array_f": ArrayFunction, "array_grad_f": ArrayGradient,
    "numerical_gradient": NumericalGradient,
}
