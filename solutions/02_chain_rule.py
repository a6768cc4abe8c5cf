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
    ### BEGIN SOLUTION
    return np.exp(np.sin(x ** 2)) * np.cos(x ** 2) * 2 * x
    ### END SOLUTION


def neuron_grads(x, w, b):
    """Gradients of one sigmoid neuron y = sigmoid(w . x + b).

    x: inputs, shape (D,).
    w: weights, shape (D,).
    b: bias, a float.
    Returns (dx, dw, db): dy/dx of shape (D,), dy/dw of shape (D,), and dy/db
    as a float.
    """
    ### BEGIN SOLUTION
    z = np.dot(w, x) + b
    # Stable sigmoid: exp(-|z|) cannot overflow.
    e = np.exp(-abs(z))
    y = (1.0 if z >= 0 else e) / (1.0 + e)
    dz = y * (1.0 - y)
    return dz * w, dz * x, float(dz)
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def _backward():
            # += not =: a node reached along several paths sums them all.
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __mul__(self, other):
        """Return a new Value for self * other (other: Value or number)."""
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __pow__(self, p):
        """Return a new Value for self ** p, where p is a plain number."""
        ### BEGIN SOLUTION
        assert not isinstance(p, Value), "only plain-number exponents are supported"
        out = Value(self.data ** p, (self,), f'**{p}')

        def _backward():
            self.grad += p * self.data ** (p - 1) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __neg__(self):
        """Return a new Value for -self."""
        ### BEGIN SOLUTION
        return self * -1
        ### END SOLUTION

    def __sub__(self, other):
        """Return a new Value for self - other (other: Value or number)."""
        ### BEGIN SOLUTION
        return self + (-other)
        ### END SOLUTION

    def __rsub__(self, other):
        """Return a new Value for other - self, where other is a number."""
        ### BEGIN SOLUTION
        return (-self) + other
        ### END SOLUTION

    def __radd__(self, other):
        """Return a new Value for other + self, where other is a number."""
        ### BEGIN SOLUTION
        return self + other
        ### END SOLUTION

    def __rmul__(self, other):
        """Return a new Value for other * self, where other is a number."""
        ### BEGIN SOLUTION
        return self * other
        ### END SOLUTION

    def __truediv__(self, other):
        """Return a new Value for self / other (other: Value or number)."""
        ### BEGIN SOLUTION
        return self * other ** -1
        ### END SOLUTION

    def __rtruediv__(self, other):
        """Return a new Value for other / self, where other is a number."""
        ### BEGIN SOLUTION
        return other * self ** -1
        ### END SOLUTION

    def exp(self):
        """Return a new Value for e ** self."""
        ### BEGIN SOLUTION
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def log(self):
        """Return a new Value for the natural logarithm of self (self.data > 0)."""
        ### BEGIN SOLUTION
        out = Value(math.log(self.data), (self,), 'log')

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out
        ### END SOLUTION

    def tanh(self):
        """Return a new Value for tanh(self)."""
        ### BEGIN SOLUTION
        out = Value(math.tanh(self.data), (self,), 'tanh')

        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def relu(self):
        """Return a new Value for max(0, self); its gradient at exactly 0 is 0."""
        ### BEGIN SOLUTION
        out = Value(self.data if self.data > 0 else 0.0, (self,), 'relu')

        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def sigmoid(self):
        """Return a new Value for sigmoid(self) = 1 / (1 + exp(-self))."""
        ### BEGIN SOLUTION
        # exp(-|x|) cannot overflow; both branches are the same function.
        e = math.exp(-abs(self.data))
        s = (1.0 if self.data >= 0 else e) / (1.0 + e)
        out = Value(s, (self,), 'sigmoid')

        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def backward(self):
        """Fill in .grad of this node and of every node it depends on.

        Sets self.grad to 1.0 and, for every node n in the graph below self,
        n.grad to d(self)/d(n), visiting each node once, in reverse
        topological order (a node only after every node that uses it).
        Called once, on a freshly built graph.
        """
        ### BEGIN SOLUTION
        # Iterative depth-first search, so deep graphs cannot hit Python's
        # recursion limit. A node is appended only after all of its children,
        # which makes `topo` a topological order (inputs first).
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                for child in node._prev:
                    if child not in visited:
                        stack.append((child, False))

        self.grad = 1.0
        for node in reversed(topo):
            node._backward()
        ### END SOLUTION
