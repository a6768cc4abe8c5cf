"""The judge's stand-ins that run in the worker compute what torch computes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.checks.exercises import derivatives, in_worker
from grader.checks.exercises.optimization import TRAIN_KEYS, TrainingJudge, mlp_logits
from grader.checks.torchref import leaf


def _params(rng, hidden=8):
    return {"W1": rng.normal(size=(2, hidden)), "b1": rng.normal(size=hidden),
            "W2": rng.normal(size=(hidden, 2)), "b2": rng.normal(size=2)}


def _torch_loss_and_grads(params, xb, yb):
    tensors = {k: leaf(params[k]) for k in TRAIN_KEYS}
    loss = F.cross_entropy(mlp_logits(tensors, leaf(xb, grad=False)), torch.tensor(yb))
    grads = torch.autograd.grad(loss, [tensors[k] for k in TRAIN_KEYS])
    return float(loss.detach()), {k: g.numpy() for k, g in zip(TRAIN_KEYS, grads)}


@pytest.mark.parametrize("seed", range(5))
def test_the_loss_fn_matches_torch(seed):
    rng = np.random.default_rng(seed)
    params, xb = _params(rng), rng.normal(size=(int(rng.integers(1, 17)), 2)) * 3
    yb = rng.integers(0, 2, len(xb))
    loss, grads = in_worker.mlp_loss_and_grads(params, xb, yb)
    expected_loss, expected_grads = _torch_loss_and_grads(params, xb, yb)
    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
    for k in TRAIN_KEYS:
        np.testing.assert_allclose(grads[k], expected_grads[k], rtol=1e-10, atol=1e-12)


def test_the_judge_recomputes_every_logged_loss_as_torch_does():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(30, 2)), rng.integers(0, 2, 30)
    params = _params(rng)
    judge = TrainingJudge(params, x, y, seed=1, budget=100)
    loss_fn = in_worker.TrainLoss(judge.spec)
    batches = [rng.permutation(30)[:size] for size in (8, 8, 5, 1)]
    for step, rows in enumerate(batches):
        current = {k: v + 0.1 * step for k, v in params.items()}
        labels = y[rows] if step != 2 else 1 - y[rows]  # one minibatch with the wrong labels
        loss_fn(current, x[rows], labels)
    loss_fn(params, x[:3] + 0.5, y[:3])  # rows that are not rows of x
    calls = judge.calls(loss_fn.log())
    assert [c.labels_match for c in calls] == [True, True, False, True, False]
    assert [list(c.rows) for c in calls[:4]] == [list(rows) for rows in batches]
    assert calls[4].rows is None
    for step, (call, rows) in enumerate(zip(calls, batches)):
        current = {k: v + 0.1 * step for k, v in params.items()}
        labels = y[rows] if step != 2 else 1 - y[rows]
        assert call.loss == pytest.approx(_torch_loss_and_grads(current, x[rows], labels)[0],
                                          rel=1e-12)


def test_the_loss_fn_turns_down_what_it_cannot_take():
    rng = np.random.default_rng(3)
    params = _params(rng)
    judge = TrainingJudge(params, rng.normal(size=(10, 2)), rng.integers(0, 2, 10), 1, budget=2)
    loss_fn = in_worker.TrainLoss(judge.spec)
    with pytest.raises(in_worker.Refused) as refused:
        loss_fn(params, rng.normal(size=(4, 3)), np.zeros(4, int))
    assert refused.value.code == "train_xb" and refused.value.fields["what"]["shape"] == [4, 3]
    with pytest.raises(in_worker.Refused) as refused:
        loss_fn({"W1": params["W1"]}, rng.normal(size=(4, 2)), np.zeros(4, int))
    assert refused.value.code == "train_params"
    with pytest.raises(in_worker.Refused) as refused:  # its budget of 2 calls is spent
        loss_fn(params, rng.normal(size=(4, 2)), np.full(4, 2))
    assert refused.value.code == "too_many_calls"
    assert len(judge.calls(loss_fn.log())) == 0


@pytest.mark.parametrize("kind", list(derivatives.SCALAR_FUNCTIONS))
def test_the_scalar_test_functions_match_torch(kind):
    f = in_worker.ScalarFunction({"kind": kind})
    for x in np.linspace(-2, 2, 9):
        assert f(x) == pytest.approx(derivatives.scalar_value(kind, x), rel=1e-14, abs=1e-15)
    assert f.log()["points"] == pytest.approx(list(np.linspace(-2, 2, 9)))


@pytest.mark.parametrize("kind", list(derivatives.ARRAY_FUNCTIONS))
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_the_array_test_functions_and_their_gradients_match_torch(kind, shape):
    rng = np.random.default_rng(len(shape))
    mask = np.ones(shape)
    mask.flat[1] = 0.0
    spec = {"kind": kind, "coef": rng.normal(size=shape), "mask": mask, "shape": list(shape)}
    x, error = rng.normal(size=shape), rng.normal(size=shape)
    assert in_worker.ArrayFunction(spec)(x) == pytest.approx(derivatives.array_value(spec, x),
                                                             rel=1e-13)
    np.testing.assert_allclose(in_worker.ArrayGradient({**spec, "grad_error": error})(x),
                               derivatives.array_gradient(spec, x) + error, rtol=1e-12,
                               atol=1e-13)


def test_a_test_function_takes_only_its_own_shape():
    f = in_worker.ArrayFunction({"kind": list(derivatives.ARRAY_FUNCTIONS)[0],
                                 "coef": np.ones(3), "mask": None, "shape": [3]})
    for wrong in (np.ones(4), [1.0, 2.0, 3.0], 1.0):
        with pytest.raises(in_worker.Refused) as refused:
            f(wrong)
        assert refused.value.code == "takes_array"
    with pytest.raises(in_worker.Refused):
        f(np.ones(3), np.ones(3))
