"""Torch in float64: the only source of reference answers.

Every reference is computed at grade time from the case's own inputs, never
stored, so no answer can drift from the inputs or leak from a file.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.optim.adam import adam as adam_update
from torch.optim.sgd import sgd as sgd_update

torch.set_default_dtype(torch.float64)


def leaf(array, grad: bool = True) -> torch.Tensor:
    """A float64 tensor of the judge's own copy of an input."""
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64,
                        requires_grad=grad)


def numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().copy()


def vjp(out: torch.Tensor, upstream, *inputs: torch.Tensor) -> list[np.ndarray]:
    """Gradients of <out, upstream> with respect to each input, by autograd."""
    grads = torch.autograd.grad(out, inputs, grad_outputs=leaf(upstream, grad=False),
                                allow_unused=True)
    return [np.zeros(tuple(i.shape)) if g is None else numpy(g) for g, i in zip(grads, inputs)]


def elementwise_grad(function, x) -> np.ndarray:
    """d function(x) / dx elementwise, for a function applied elementwise."""
    xt = leaf(x)
    (grad,) = torch.autograd.grad(function(xt).sum(), xt)
    return numpy(grad)


class OptimizerSteps:
    """``torch.optim.SGD`` or ``torch.optim.Adam`` on these tensors, one ``step(grads)`` at a time.

    The update is the class's own, called in the functional form its ``step``
    calls (``torch.optim.sgd.sgd``, ``torch.optim.adam.adam``), with the
    state the class keeps. The class itself would import ``torch._dynamo``
    on its first step, 1.5 s of every grading process's start, for a graph
    break that matters only under ``torch.compile``. ``tests/test_torchref.py``
    holds the two equal.
    """

    def __init__(self, optimizer: type, tensors: list[torch.Tensor], options: dict):
        self.tensors, self.kind = tensors, optimizer
        if optimizer is torch.optim.SGD:
            self.options = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                            "nesterov": False, **options, "maximize": False}
            self.buffers: list = [None] * len(tensors)
        elif optimizer is torch.optim.Adam:
            o = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                 "decoupled_weight_decay": False, **options}
            (beta1, beta2), self.decoupled = o.pop("betas"), o.pop("decoupled_weight_decay")
            self.options = {**o, "beta1": beta1, "beta2": beta2, "amsgrad": False,
                            "maximize": False}
            self.exp_avgs = [torch.zeros_like(t) for t in tensors]
            self.exp_avg_sqs = [torch.zeros_like(t) for t in tensors]
            self.steps = [torch.tensor(0.0) for _ in tensors]
        else:
            raise ValueError(f"no functional form for {optimizer.__name__}")

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        if self.kind is torch.optim.SGD:
            sgd_update(self.tensors, grads, self.buffers, **self.options)
        else:
            adam_update(self.tensors, grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
                        decoupled_weight_decay=self.decoupled, **self.options)
