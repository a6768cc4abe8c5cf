"""Gradient descent, SGD with momentum, Adam, and Newton's method.

params and grads are dicts mapping a parameter name to an ndarray. Every step
function updates the arrays in params in place (the same array objects, as
torch.optim does: use `p -= ...` or `p[...] = ...`, never `params[name] = ...`)
and returns None. state is a dict owned by the caller, empty before the first
step; keep in it whatever you need from one step to the next.
"""

import numpy as np


def sgd_step(params, grads, lr):
    """One step of plain gradient descent: p -= lr * g for every parameter.

    params: dict name -> ndarray, updated in place.
    grads: dict name -> ndarray of the same shapes.
    lr: learning rate (float).
    Returns None.
    """
    raise NotImplementedError()


def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                      weight_decay=0.0, nesterov=False):
    """One step of SGD with momentum, exactly as torch.optim.SGD.

    params: dict name -> ndarray, updated in place.
    grads: dict name -> ndarray of the same shapes (not to be modified).
    state: dict owned by the caller, empty before the first step.
    lr: learning rate. momentum: momentum factor (> 0). dampening: dampening
    for momentum. weight_decay: L2 penalty coefficient. nesterov: whether to
    use Nesterov momentum (only with dampening == 0).
    Must agree with torch.optim.SGD with the same arguments on every step,
    including the first (see the torch.optim.SGD documentation).
    Returns None.
    """
    raise NotImplementedError()


def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    """One step of Adam, exactly as torch.optim.Adam (default options otherwise).

    params: dict name -> ndarray, updated in place.
    grads: dict name -> ndarray of the same shapes (not to be modified).
    state: dict owned by the caller, empty before the first step.
    lr: learning rate. betas: (beta1, beta2), decay rates of the running means
    of the gradient and of its square. eps: added to the denominator.
    weight_decay: L2 penalty coefficient, added to the gradient (this is Adam,
    not AdamW).
    Must agree with torch.optim.Adam on every step, bias correction included
    (see the torch.optim.Adam documentation).
    Returns None.
    """
    raise NotImplementedError()


def iterate_minibatches(n, batch_size, rng):
    """Split the indices 0 .. n-1 into shuffled minibatches.

    n: number of examples (int).
    batch_size: size of each minibatch (int); the last one may be smaller.
    rng: a numpy.random.Generator, the only source of randomness to use.
    Returns a list of 1-D integer index arrays that together contain every
    index in range(n) exactly once, in an order shuffled by rng.
    """
    raise NotImplementedError()


def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
    """Mini-batch stochastic gradient descent.

    loss_fn: function (params, xb, yb) -> (loss, grads), with grads a dict
        keyed like params.
    params: dict name -> ndarray, updated in place.
    x: inputs, first axis of length N (the examples). y: targets, length N.
    lr: learning rate. epochs: number of passes over the data.
    batch_size: minibatch size.
    rng: numpy.random.Generator used to shuffle the examples.
    In every epoch, go through the minibatches given by iterate_minibatches,
    and take one sgd_step per minibatch (use those two functions, by name).
    Returns a list of `epochs` floats: each epoch's mean minibatch loss.
    """
    raise NotImplementedError()


def logistic_newton_step(w, X, y):
    """One Newton step for logistic regression.

    The loss is the mean logistic (binary cross-entropy) loss
        L(w) = mean_i [ -y_i log p_i - (1 - y_i) log(1 - p_i) ],
        p = sigmoid(X @ w).
    w: weights, shape (D,).
    X: inputs, shape (N, D).
    y: labels in {0, 1}, shape (N,).
    Returns the new weights w - H^-1 g, shape (D,), where g and H are the
    gradient and Hessian of L at w, derived by hand. Do not modify w.
    """
    raise NotImplementedError()
