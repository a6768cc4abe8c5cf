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
    raise NotImplementedError()


def numerical_gradient(f, x, h=1e-5):
    """Estimate the gradient of a scalar-valued f at x by central differences.

    f: a function taking an array of x's shape and returning a float.
    x: the point, an array of any shape.
    h: the step size used for every element.
    Returns a float64 array of x's shape whose element i is the central-difference
    estimate of d f / d x[i], nudging one element of x at a time.
    x must hold exactly its original values when this function returns.
    """
    raise NotImplementedError()


def sigmoid_grad(x):
    """Elementwise derivative of sigmoid(x) = 1 / (1 + exp(-x)).

    x: array of any shape.
    Returns an array of x's shape.
    """
    raise NotImplementedError()


def tanh_grad(x):
    """Elementwise derivative of tanh(x).

    x: array of any shape.
    Returns an array of x's shape.
    """
    raise NotImplementedError()


def softplus_grad(x):
    """Elementwise derivative of softplus(x) = log(1 + exp(x)).

    x: array of any shape.
    Returns an array of x's shape. It must be correct and finite (and raise no
    overflow warnings) for every x in [-1000, 1000].
    """
    raise NotImplementedError()


def relu_grad(x):
    """Elementwise derivative of relu(x) = max(0, x).

    x: array of any shape.
    Returns a float array of x's shape. At exactly x == 0 use 0.
    """
    raise NotImplementedError()


def f_xy_partials(x, y):
    """Partial derivatives of f(x, y) = x**2 * y + sin(x * y).

    x, y: arrays of the same shape (the function is applied elementwise).
    Returns (df_dx, df_dy), two arrays of that shape.
    """
    raise NotImplementedError()


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
    raise NotImplementedError()
