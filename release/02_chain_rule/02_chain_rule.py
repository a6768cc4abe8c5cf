"""The chain rule and computational graphs.

First you apply the chain rule by hand to a composite function and to a single
sigmoid neuron. Then you build `Value`, a tiny scalar reverse-mode autodiff
engine in the spirit of micrograd: every operation records where its result
came from, and `backward()` walks that graph from the output to the inputs.
"""

import math

import numpy as np


def composite_grad(x):
    """Elementwise derivative of f(x) = exp(sin(x**2)).

    x: array of any shape.
    Returns an array of x's shape.
    """
    raise NotImplementedError()


def neuron_grads(x, w, b):
    """Gradients of one sigmoid neuron y = sigmoid(w . x + b).

    x: inputs, shape (D,).
    w: weights, shape (D,).
    b: bias, a float.
    Returns (dx, dw, db): dy/dx of shape (D,), dy/dw of shape (D,), and dy/db
    as a float.
    """
    raise NotImplementedError()


class Value:
    """A scalar node in a computational graph, with reverse-mode autodiff.

    Attributes:
        data: the float value of this node.
        grad: d(output)/d(this node), a float; 0.0 until backward() fills it in.
        _prev: the nodes this one was computed from (its children in the graph).
        _op: a short label of the operation that produced it (for debugging).
        _backward: a function of no arguments that, once this node's .grad is
            known, adds this node's contribution to the .grad of each node in
            _prev. Leaves keep the default, which does nothing.

    Every operation returns a new Value built as Value(result, children, op)
    and sets its _backward. Operands may be Values or plain numbers (ints or
    floats) on either side.
    """

    def __init__(self, data, _children=(), _op=''):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        """Return a new Value for self + other (other: Value or number)."""
        raise NotImplementedError()

    def __mul__(self, other):
        """Return a new Value for self * other (other: Value or number)."""
        raise NotImplementedError()

    def __pow__(self, p):
        """Return a new Value for self ** p, where p is a plain number."""
        raise NotImplementedError()

    def __neg__(self):
        """Return a new Value for -self."""
        raise NotImplementedError()

    def __sub__(self, other):
        """Return a new Value for self - other (other: Value or number)."""
        raise NotImplementedError()

    def __rsub__(self, other):
        """Return a new Value for other - self, where other is a number."""
        raise NotImplementedError()

    def __radd__(self, other):
        """Return a new Value for other + self, where other is a number."""
        raise NotImplementedError()

    def __rmul__(self, other):
        """Return a new Value for other * self, where other is a number."""
        raise NotImplementedError()

    def __truediv__(self, other):
        """Return a new Value for self / other (other: Value or number)."""
        raise NotImplementedError()

    def __rtruediv__(self, other):
        """Return a new Value for other / self, where other is a number."""
        raise NotImplementedError()

    def exp(self):
        """Return a new Value for e ** self."""
        raise NotImplementedError()

    def log(self):
        """Return a new Value for the natural logarithm of self (self.data > 0)."""
        raise NotImplementedError()

    def tanh(self):
        """Return a new Value for tanh(self)."""
        raise NotImplementedError()

    def relu(self):
        """Return a new Value for max(0, self); its gradient at exactly 0 is 0."""
        raise NotImplementedError()

    def sigmoid(self):
        """Return a new Value for sigmoid(self) = 1 / (1 + exp(-self))."""
        raise NotImplementedError()

    def backward(self):
        """Fill in .grad of this node and of every node it depends on.

        Sets self.grad to 1.0 and, for every node n in the graph below self,
        n.grad to d(self)/d(n), visiting each node once, in reverse
        topological order (a node only after every node that uses it).
        Called once, on a freshly built graph.
        """
        raise NotImplementedError()
