"""Derivatives, partial derivatives and gradients.

You will estimate derivatives numerically with finite differences, derive a few
common derivatives by hand, and use the first to check the second.

All array arguments are NumPy arrays of float64 unless stated otherwise.
"""

import numpy as np


def numerical_derivative(f, x, h=1e-5):
    """Estimate f'(x) with the central difference (f(x + h) - f(x - h)) / (2h).

    f: a function from a float to a float.
    x: the point (a float).
    h: the step size.
    Returns the estimate as a float.
    """
    ### BEGIN SOLUTION
    return float((f(x + h) - f(x - h)) / (2 * h))
    ### END SOLUTION


def numerical_gradient(f, x, h=1e-5):
    """Estimate the gradient of a scalar-valued f at x by central differences.

    f: a function taking an array of x's shape and returning a float.
    x: the point, an array of any shape.
    h: the step size used for every element.
    Returns a float64 array of x's shape whose element i is the central-difference
    estimate of d f / d x[i], nudging one element of x at a time.
    x must hold exactly its original values when this function returns.
    """
    ### BEGIN SOLUTION
    # Perturb x itself when we can, so that closures over x see the nudge too;
    # otherwise (not a writable float64 array) work on a float64 copy.
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64
            and x.flags.writeable):
        x = np.array(x, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            f_plus = float(f(x))
            x[idx] = original - h
            f_minus = float(f(x))
        finally:
            # Restore the saved value: original + h - h need not equal original.
            x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad
    ### END SOLUTION


def sigmoid_grad(x):
    """Elementwise derivative of sigmoid(x) = 1 / (1 + exp(-x)).

    x: array of any shape.
    Returns an array of x's shape.
    """
    ### BEGIN SOLUTION
    # exp(-|x|) never overflows; the two branches are the same function.
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return s * (1.0 - s)
    ### END SOLUTION


def tanh_grad(x):
    """Elementwise derivative of tanh(x).

    x: array of any shape.
    Returns an array of x's shape.
    """
    ### BEGIN SOLUTION
    return 1.0 - np.tanh(x) ** 2
    ### END SOLUTION


def softplus_grad(x):
    """Elementwise derivative of softplus(x) = log(1 + exp(x)).

    x: array of any shape.
    Returns an array of x's shape. It must be correct and finite (and raise no
    overflow warnings) for every x in [-1000, 1000].
    """
    ### BEGIN SOLUTION
    # The derivative is the sigmoid; written with exp(-|x|) so it cannot overflow.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)
    ### END SOLUTION


def relu_grad(x):
    """Elementwise derivative of relu(x) = max(0, x).

    x: array of any shape.
    Returns a float array of x's shape. At exactly x == 0 use 0.
    """
    ### BEGIN SOLUTION
    return np.where(x > 0, 1.0, 0.0)
    ### END SOLUTION


def f_xy_partials(x, y):
    """Partial derivatives of f(x, y) = x**2 * y + sin(x * y).

    x, y: arrays of the same shape (the function is applied elementwise).
    Returns (df_dx, df_dy), two arrays of that shape.
    """
    ### BEGIN SOLUTION
    df_dx = 2 * x * y + y * np.cos(x * y)
    df_dy = x ** 2 + x * np.cos(x * y)
    return df_dx, df_dy
    ### END SOLUTION


def gradient_check(f, grad_f, x, h=1e-5):
    """Compare an analytic gradient against a numerical one.

    f: scalar-valued function of an array.
    grad_f: function returning the analytic gradient of f, an array of x's shape.
    x: the point, an array of any shape.
    h: step size for the numerical gradient (use numerical_gradient).
    Returns, as a float, the largest relative error over all elements,
        abs(a - n) / max(1e-8, abs(a) + abs(n)),
    where a = grad_f(x) and n is the numerical gradient of f at x.
    """
    ### BEGIN SOLUTION
    a = np.asarray(grad_f(x), dtype=np.float64)
    n = numerical_gradient(f, x, h)
    # The floor keeps the ratio defined where both gradients are zero.
    rel = np.abs(a - n) / np.maximum(1e-8, np.abs(a) + np.abs(n))
    return float(np.max(rel))
    ### END SOLUTION
