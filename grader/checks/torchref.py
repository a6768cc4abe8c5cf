"""Torch in float64: the only source of reference answers.

Every reference is computed at grade time from the case's own inputs, never
stored, so no answer can drift from the inputs or leak from a file.
"""
from __future__ import annotations

import numpy as np
import torch

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
