"""The judge's optimizer references equal torch.optim's classes, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.checks.torchref import OptimizerSteps, leaf

OPTIONS = [  # every option set the checks step with (04_optimization), and some more
    (torch.optim.SGD, {"lr": 0.1}),
    (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.8, "dampening": 0.5}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.7, "weight_decay": 0.1}),
    (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    (torch.optim.Adam, {"lr": 1e-3}),
    (torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99)}),
    (torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (torch.optim.Adam, {"lr": 0.01, "eps": 1e-3}),
]


@pytest.mark.parametrize("optimizer, options", OPTIONS,
                         ids=[f"{o.__name__}-{sorted(opts)}" for o, opts in OPTIONS])
@pytest.mark.parametrize("seed", range(3))
def test_functional_steps_equal_the_class(optimizer, options, seed):
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=shape) for shape in ((3, 4), (4,), (2, 2, 3))]
    grads = [[rng.normal(size=p.shape) * 10.0 ** -rng.integers(0, 6) for p in start]
             for _ in range(6)]

    by_class = [leaf(p) for p in start]
    stepper = optimizer(by_class, **options)
    functional = [leaf(p) for p in start]
    steps = OptimizerSteps(optimizer, functional, options)
    for step_grads in grads:
        for tensor, grad in zip(by_class, step_grads):
            tensor.grad = leaf(grad, grad=False)
        stepper.step()
        steps.step([leaf(grad, grad=False) for grad in step_grads])
        for a, b in zip(by_class, functional):
            assert torch.equal(a, b)


def test_a_class_without_a_functional_form_is_refused():
    with pytest.raises(ValueError, match="RMSprop"):
        OptimizerSteps(torch.optim.RMSprop, [leaf(np.zeros(2))], {"lr": 0.1})
