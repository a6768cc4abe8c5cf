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
    ### BEGIN SOLUTION
    for name, g in grads.items():
        p = params[name]
        p -= lr * g
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    for name, g in grads.items():
        p = params[name]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = state.setdefault(name, {})
        if 'momentum_buffer' not in s:
            # torch starts the buffer at the first gradient itself (no
            # dampening); a copy, so later in-place updates leave grads alone.
            buf = s['momentum_buffer'] = np.array(g, dtype=np.float64)
        else:
            buf = s['momentum_buffer']
            buf *= momentum
            buf += (1 - dampening) * g
        if nesterov:
            g = g + momentum * buf
        else:
            g = buf
        p -= lr * g
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    beta1, beta2 = betas
    for name, g in grads.items():
        p = params[name]
        if weight_decay != 0:
            g = g + weight_decay * p
        s = state.setdefault(name, {})
        if not s:
            s['step'] = 0
            s['exp_avg'] = np.zeros(p.shape)
            s['exp_avg_sq'] = np.zeros(p.shape)
        s['step'] += 1
        t, m, v = s['step'], s['exp_avg'], s['exp_avg_sq']

        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g

        # The running means start at zero, so early on they are biased towards
        # zero; these factors undo that. The order of operations follows
        # torch's implementation so that results agree to rounding error.
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        step_size = lr / bias_correction1
        denom = np.sqrt(v) / np.sqrt(bias_correction2) + eps
        p -= step_size * m / denom
    ### END SOLUTION


def iterate_minibatches(n, batch_size, rng):
    """Split the indices 0 .. n-1 into shuffled minibatches.

    n: number of examples (int).
    batch_size: size of each minibatch (int); the last one may be smaller.
    rng: a numpy.random.Generator, the only source of randomness to use.
    Returns a list of 1-D integer index arrays that together contain every
    index in range(n) exactly once, in an order shuffled by rng.
    """
    ### BEGIN SOLUTION
    perm = rng.permutation(n)
    return [perm[start:start + batch_size] for start in range(0, n, batch_size)]
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    history = []
    for _ in range(epochs):
        losses = []
        for idx in iterate_minibatches(len(x), batch_size, rng):
            loss, grads = loss_fn(params, x[idx], y[idx])
            sgd_step(params, grads, lr)
            losses.append(float(loss))
        history.append(float(np.mean(losses)))
    return history
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    n = X.shape[0]
    z = X @ w
    # Stable sigmoid: exp(-|z|) cannot overflow.
    e = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1.0, e) / (1.0 + e)
    g = X.T @ (p - y) / n
    # X.T @ diag(s) @ X without building the N x N diagonal matrix.
    s = p * (1.0 - p)
    H = (X.T * s) @ X / n
    # Solving H d = g is cheaper and more accurate than forming H^-1.
    return w - np.linalg.solve(H, g)
    ### END SOLUTION
