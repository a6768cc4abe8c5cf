"""03_backprop: layer forward and backward passes, losses, a two-layer MLP."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from grader.checks.ahead import Call, earlier
from grader.checks.compare import Recogniser, close, compare_output, wrong_only_where
from grader.checks.core import Check, ComposedCheck, Draw, Student, check, unpack
from grader.checks.exercises.derivatives import RELU_AT_ZERO_TEXT
from grader.checks.torchref import leaf, numpy, vjp
from grader.i18n import N_, _
from grader.sandbox.protocol import Handle

A = "03_backprop"


class LayerForward(Check):
    """``name(*inputs, *options) -> (out, cache)``; graded on out."""

    outputs = ("out",)
    arrays: tuple[str, ...] = ("x",)  # the differentiable inputs, in call order

    def torch_forward(self, *tensors, **options) -> torch.Tensor:
        raise NotImplementedError

    def split(self, params: dict) -> tuple[list, dict]:
        arrays = [params[k] for k in self.arrays]
        options = {k: v for k, v in params.items() if k not in self.arrays and k != "dout"}
        return arrays, options

    def reference(self, **params):
        arrays, options = self.split(params)
        return {"out": numpy(self.torch_forward(*map(leaf, arrays), **options))}

    def calls(self, **params):
        arrays, options = self.split(params)
        return [Call(self.name, (*arrays, *options.values()), {"items": (0,)})]  # not the cache

    def run(self, student: Student, **params):
        (forward,) = self.calls(**params)
        return {"out": unpack(self.name, student.make(forward), ("out", "cache"))["out"]}


class LayerBackward(Check):
    """``name(dout, cache) -> grads``, with the cache of the student's own forward."""

    layer: type[LayerForward]

    @property
    def outputs(self):
        return tuple(f"d{k}" for k in self.layer.arrays)

    def cases(self, draw: Draw):
        for label, params in self.layer().cases(draw):
            out = self.layer().reference(**params)["out"]
            yield label, {**params, "dout": draw.upstream(*out.shape)}

    def reference(self, **params):
        layer = self.layer()
        arrays, options = layer.split(params)
        tensors = [leaf(a) for a in arrays]
        out = layer.torch_forward(*tensors, **options)
        grads = vjp(out, params["dout"], *tensors)
        return {**dict(zip(self.outputs, grads)), "forward out": numpy(out)}

    def calls(self, **params):
        arrays, options = self.layer().split(params)
        return [Call(self.name.replace("_backward", "_forward"), (*arrays, *options.values()),
                     {"keep": True, "graded": False, "items": (0,)}),  # for its cache
                Call(self.name, (params["dout"], earlier(0, 1)))]

    def run(self, student: Student, **params):
        forward, backward = self.calls(**params)
        value, handle = student.make(forward)
        out = unpack(forward.function, value, ("out", "cache"))["out"]
        if not compare_output("out", out, student.expected["forward out"],
                              tolerance=self.tolerance).passed:
            student.notes.append(_("{forward} is wrong on this case too, and this backward pass "
                                   "works from its cache: fix {forward} first").format(
                forward=forward.function))
        return unpack(backward.function, student.make(backward, handle), self.outputs)

    def context(self, **params):
        return _batch_context(params)


def _batch_context(params: dict) -> dict[str, float]:
    x = params.get("x", params.get("logits", params.get("pred")))
    return {"N": float(x.shape[0])} if x is not None and x.ndim >= 1 else {}


# -- linear, relu, sigmoid, tanh -------------------------------------------------------

@check(A, points=5)
class linear_forward(LayerForward):
    arrays = ("x", "w", "b")

    def torch_forward(self, x, w, b):
        return x @ w + b

    def cases(self, draw):
        for label in (N_("batch"), N_("another batch")):
            n, d, m = draw.dims(3)
            yield label, dict(x=draw.normal(n, d), w=draw.normal(d, m), b=draw.normal(m))


@check(A, points=10)
class linear_backward(LayerBackward):
    layer = linear_forward

    def context(self, **params):
        n, d = params["x"].shape
        return {"N": float(n), "D": float(d), "M": float(params["w"].shape[1])}


def _elementwise_cases(draw: Draw, scale: float = 1.0):
    n, d = draw.dims(2)
    yield N_("matrix"), dict(x=draw.normal(n, d, scale=scale))
    c, h, w = draw.dims(3)
    yield N_("4-d array"), dict(x=draw.normal(2, c, h, w, scale=scale))


@check(A, points=3)
class relu_forward(LayerForward):
    def torch_forward(self, x):
        return F.relu(x)

    def cases(self, draw):
        yield from _elementwise_cases(draw)


@check(A, points=4)
class relu_backward(LayerBackward):
    layer = relu_forward
    misconception_texts = {"relu_grad_at_zero": RELU_AT_ZERO_TEXT}

    def cases(self, draw):
        yield from super().cases(draw)
        n, d = draw.dims(2)
        x = np.round(draw.normal(n, d))  # many inputs exactly 0, where the gradient is 0
        yield N_("inputs at exactly 0"), dict(x=x, dout=draw.upstream(n, d))

    def misconceptions(self, x, dout):
        at_zero = x == 0
        return {"relu_grad_at_zero": {"dx": wrong_only_where(at_zero)}} if at_zero.any() else {}


@check(A, points=3)
class sigmoid_forward(LayerForward):
    def torch_forward(self, x):
        return torch.sigmoid(x)

    def cases(self, draw):
        yield from _elementwise_cases(draw, scale=3.0)


@check(A, points=4)
class sigmoid_backward(LayerBackward):
    layer = sigmoid_forward


@check(A, points=3)
class tanh_forward(LayerForward):
    def torch_forward(self, x):
        return torch.tanh(x)

    def cases(self, draw):
        yield from _elementwise_cases(draw, scale=2.0)


@check(A, points=4)
class tanh_backward(LayerBackward):
    layer = tanh_forward


# -- losses ------------------------------------------------------------------------

@check(A, points=8)
class softmax_cross_entropy(Check):
    outputs = ("loss", "dlogits")
    misconception_texts = {
        "not_divided_by_n": N_("the loss is the mean over the batch, so each example's "
                               "gradient carries a factor 1/N."),
    }

    def cases(self, draw):
        for label, scale in ((N_("small logits"), 1.0), (N_("logits of magnitude 1e3"), 1e3)):
            n, c = draw.dims(2, low=2, high=8)
            yield label, dict(logits=draw.normal(n, c, scale=scale),
                              y=draw.integers(0, c, n))

    def reference(self, logits, y):
        lt = leaf(logits)
        loss = F.cross_entropy(lt, torch.tensor(y, dtype=torch.long))
        (dlogits,) = torch.autograd.grad(loss, lt)
        return {"loss": float(loss.detach()), "dlogits": numpy(dlogits)}

    def misconceptions(self, logits, y):
        return {"not_divided_by_n": {"dlogits": self.reference(logits, y)["dlogits"] *
                                     logits.shape[0]}}

    def context(self, **params):
        n, c = params["logits"].shape
        return {"N": float(n), "C": float(c)}


@check(A, points=3)
class mse_loss(Check):
    outputs = ("loss", "dpred")

    def cases(self, draw):
        for label in (N_("matrix"), N_("vector")):
            shape = draw.dims(2) if label == "matrix" else draw.dims(1, low=3, high=9)
            yield label, dict(pred=draw.normal(*shape), target=draw.normal(*shape))

    def reference(self, pred, target):
        pt = leaf(pred)
        loss = F.mse_loss(pt, leaf(target, grad=False))
        (dpred,) = torch.autograd.grad(loss, pt)
        return {"loss": float(loss.detach()), "dpred": numpy(dpred)}

    def context(self, pred, target):
        return {"N": float(pred.size), "2": 2.0}


# -- the two-layer network ------------------------------------------------------------

MLP_KEYS = ("W1", "b1", "W2", "b2")
MLP_STAGES = ("linear_forward", "relu_forward", "softmax_cross_entropy", "relu_backward",
              "linear_backward")


class ReferenceStages:
    """Correct layers that run in the judge, offered to student code as callbacks.

    Caches stay in the judge; student code only holds a handle to them, so
    nothing correct ever enters the sandbox.
    """

    def __init__(self):
        self.caches: list = []

    def _keep(self, cache) -> Handle:
        self.caches.append(cache)
        return Handle("judge", len(self.caches) - 1)

    def _cache(self, handle):
        if not isinstance(handle, Handle) or handle.side != "judge" or \
                not 0 <= handle.number < len(self.caches):
            from grader.sandbox.runner import CallbackRefused
            raise CallbackRefused(_("that cache did not come from the matching forward pass"))
        return self.caches[handle.number]

    def linear_forward(self, x, w, b):
        return x @ w + b, self._keep((x, w))

    def linear_backward(self, dout, cache):
        x, w = self._cache(cache)
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    def relu_forward(self, x):
        return np.maximum(x, 0.0), self._keep(x)

    def relu_backward(self, dout, cache):
        return dout * (self._cache(cache) > 0)

    def softmax_cross_entropy(self, logits, y):
        reference = softmax_cross_entropy().reference(np.asarray(logits, dtype=float),
                                                      np.asarray(y, dtype=np.int64))
        return reference["loss"], reference["dlogits"]

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in MLP_STAGES}


@check(A, points=10)
class mlp_loss(ComposedCheck):
    stages = (("linear_forward", "linear_backward"), ("relu_forward", "relu_backward"),
              ("softmax_cross_entropy",))
    outputs = ("loss",) + tuple(f"d{k}" for k in MLP_KEYS)

    def cases(self, draw):
        for label in (N_("batch"), N_("another batch")):
            n, d, h, c = draw.dims(4, low=2, high=9)
            params = {"W1": draw.normal(d, h), "b1": draw.normal(h, scale=0.5),
                      "W2": draw.normal(h, c), "b2": draw.normal(c, scale=0.5)}
            yield label, dict(params=params, x=draw.normal(n, d), y=draw.integers(0, c, n))

    def reference(self, params, x, y):
        tensors = {k: leaf(v) for k, v in params.items()}
        hidden = F.relu(leaf(x, grad=False) @ tensors["W1"] + tensors["b1"])
        logits = hidden @ tensors["W2"] + tensors["b2"]
        loss = F.cross_entropy(logits, torch.tensor(y, dtype=torch.long))
        grads = torch.autograd.grad(loss, [tensors[k] for k in MLP_KEYS])
        return {"loss": float(loss.detach()), **{f"d{k}": numpy(g) for k, g in zip(MLP_KEYS, grads)}}

    def run(self, student: Student, params, x, y, substitute=()):
        stages = ReferenceStages()
        value = student.call(self.name, params, x, y,
                             substitute={name: (name, False) for name in substitute},
                             callbacks=stages.callbacks())
        loss, grads = unpack(self.name, value, ("loss", "grads")).values()
        if not isinstance(grads, dict):
            return {"loss": loss}
        return {"loss": loss, **{f"d{k}": grads.get(k) for k in MLP_KEYS if k in grads}}

    def blame(self, culprits):
        blamed = _(", ").join(culprits) if culprits else _("several of the layers")
        return _("mlp_loss itself is right: with correct layers it gives the right "
                 "answer; its result was wrong because of {blamed} (graded "
                 "there)").format(blamed=blamed)

    def context(self, x, **params):
        return {"N": float(x.shape[0])}


# -- convolution, pooling, batch norm -------------------------------------------------

@check(A, points=6)
class conv2d_forward(LayerForward):
    arrays = ("x", "w", "b")

    def torch_forward(self, x, w, b, stride, padding):
        return F.conv2d(x, w, b, stride=stride, padding=padding)

    def cases(self, draw):
        for label, stride, padding in ((N_("stride 1, no padding"), 1, 0),
                                       (N_("stride 2, padding 1"), 2, 1)):
            c, f = draw.dims(2, low=1, high=4)
            kh, kw = draw.dims(2, low=2, high=3) if draw.rng.random() < 0.5 else (3, 3)
            h, w = draw.dims(2, low=5, high=8)
            yield label, dict(x=draw.normal(2, c, h, w), w=draw.normal(f, c, kh, kw),
                              b=draw.normal(f), stride=stride, padding=padding)


@check(A, points=10)
class conv2d_backward(LayerBackward):
    layer = conv2d_forward


@check(A, points=4)
class maxpool2d_forward(LayerForward):
    def torch_forward(self, x, kernel_size, stride):
        return F.max_pool2d(x, kernel_size, stride)

    def cases(self, draw):
        for label, kernel, stride in ((N_("2x2 windows, stride 2"), 2, 2),
                                      (N_("overlapping 3x3 windows, stride 2"), 3, 2),
                                      (N_("overlapping 2x2 windows, stride 1"), 2, 1)):
            c = int(draw.integers(1, 4))
            h, w = draw.dims(2, low=5, high=8)
            yield label, dict(x=draw.normal(2, c, h, w), kernel_size=kernel, stride=stride)


def pooling_windows(shape: tuple, k: int, stride: int):
    """(i, j, rows, columns) of every window of a max pooling over ``shape`` (N, C, H, W)."""
    for i in range((shape[2] - k) // stride + 1):
        for j in range((shape[3] - k) // stride + 1):
            yield i, j, slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)


def every_maximum_backward(x: np.ndarray, dout: np.ndarray, k: int, stride: int) -> np.ndarray:
    """The classic mistake on ties: each tied maximum gets the window's whole gradient."""
    dx = np.zeros(x.shape)
    for i, j, rows, columns in pooling_windows(x.shape, k, stride):
        window = x[:, :, rows, columns]
        top = window == window.max(axis=(2, 3), keepdims=True)
        dx[:, :, rows, columns] += top * dout[:, :, i, j, None, None]
    return dx


def tie_groups(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """Per element of x, the group of tied maxima it belongs to; -1 if none.

    Two elements are in one group when they tie for the maximum of a window,
    or through a chain of such windows (overlapping windows share elements).
    """
    parent = np.arange(x.size)

    def root(e: int) -> int:
        while parent[e] != e:
            parent[e] = e = parent[parent[e]]
        return e

    index = np.arange(x.size).reshape(x.shape)
    tied = np.zeros(x.size, dtype=bool)
    for _, _, rows, columns in pooling_windows(x.shape, k, stride):
        window, where = x[:, :, rows, columns], index[:, :, rows, columns]
        top = window == window.max(axis=(2, 3), keepdims=True)
        for n, c in zip(*np.nonzero(top.sum(axis=(2, 3)) > 1)):
            members = where[n, c][top[n, c]]
            tied[members] = True
            for e in members[1:]:
                parent[root(e)] = root(members[0])
    return np.array([root(e) if tied[e] else -1 for e in range(x.size)]).reshape(x.shape)


def other_tie_split(groups: np.ndarray) -> Recogniser:
    """Recognises a dx that splits the gradient of tied windows otherwise than the contract.

    Any split of a window's gradient among its tied maxima is a valid
    sub-gradient: such a dx differs from the contract's only at tied maxima,
    and every group of them receives the same total gradient.
    """
    tied = groups >= 0
    labels = np.unique(groups[tied], return_inverse=True)[1]

    def recognise(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
        bad = ~close(actual, expected, tolerance)
        if not bad.any() or (bad & ~tied).any():
            return False
        totals = [np.bincount(labels, weights=a[tied]) for a in (actual, expected)]
        return bool(close(totals[0], totals[1], tolerance).all())
    return recognise


@check(A, points=8)
class maxpool2d_backward(LayerBackward):
    """Graded on ties too: integer inputs, so that windows often have several maxima."""

    layer = maxpool2d_forward
    misconception_texts = {
        "maxpool_tie_every_maximum": N_(
            "where several entries of a window tie for its maximum, each of them got the "
            "window's whole gradient, so it was counted several times; the contract gives all "
            "of it to the first of them (in row-major order within the window), as torch "
            "does."),
        "maxpool_tie_other_split": N_(
            "the maximum is not differentiable where entries tie for it, and any split of the "
            "window's gradient among the tied entries is a valid sub-gradient; yours is one, "
            "but the contract (as torch) gives all of it to the first of them in row-major "
            "order within the window."),
    }

    def cases(self, draw):
        yield from super().cases(draw)
        for label, kernel, stride in ((N_("ties, 2x2 windows, stride 2"), 2, 2),
                                      (N_("ties, overlapping 3x3 windows, stride 2"), 3, 2)):
            c = int(draw.integers(1, 4))
            h, w = draw.dims(2, low=5, high=8)
            x = draw.integers(-2, 2, 2, c, h, w).astype(np.float64)
            out_shape = self.layer().reference(x=x, kernel_size=kernel, stride=stride)["out"].shape
            yield label, dict(x=x, kernel_size=kernel, stride=stride,
                              dout=draw.upstream(*out_shape))

    def misconceptions(self, x, kernel_size, stride, dout):
        groups = tie_groups(x, kernel_size, stride)
        if not (groups >= 0).any():
            return {}
        return {"maxpool_tie_every_maximum": {"dx": every_maximum_backward(x, dout, kernel_size,
                                                                           stride)},
                "maxpool_tie_other_split": {"dx": other_tie_split(groups)}}


@check(A, points=5)
class batchnorm_forward(LayerForward):
    arrays = ("x", "gamma", "beta")

    def torch_forward(self, x, gamma, beta, eps):
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

    def cases(self, draw):
        for label, eps in ((N_("batch"), 1e-5), (N_("batch, eps 0.1"), 0.1)):
            n, d = draw.dims(2, low=3, high=8)
            yield label, dict(x=draw.normal(n, d, scale=2.0) + draw.normal(d),
                              gamma=draw.normal(d), beta=draw.normal(d), eps=eps)


@check(A, points=10)
class batchnorm_backward(LayerBackward):
    layer = batchnorm_forward
