"""02_chain_rule: the classic wrong chain rules and Value engines, and correct variants."""
from tests.catalogue import Bug, Variant

# Each Value bug swaps one method of the reference class for a wrong one.
BUGS = [
    Bug("composite_grad_missing_2x", "composite_grad", """
        import numpy as _np
        def composite_grad(x):
            return _np.exp(_np.sin(x ** 2)) * _np.cos(x ** 2)
        """),
    Bug("neuron_grads_dw_sign_flipped", "neuron_grads", """
        _neuron_grads = neuron_grads
        def neuron_grads(x, w, b):
            dx, dw, db = _neuron_grads(x, w, b)
            return dx, -dw, db
        """, ("sign_flipped",)),
    Bug("neuron_grads_db_as_array", "neuron_grads", """
        import numpy as _np
        _neuron_grads = neuron_grads
        def neuron_grads(x, w, b):
            dx, dw, db = _neuron_grads(x, w, b)
            return dx, dw, _np.full(x.shape, db)
        """),
    Bug("value_assigns_not_accumulates", "Value", """
        def _add(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data + other.data, (self, other), '+')
            def _backward():
                self.grad = out.grad
                other.grad = out.grad
            out._backward = _backward
            return out
        def _mul(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data * other.data, (self, other), '*')
            def _backward():
                self.grad = other.data * out.grad
                other.grad = self.data * out.grad
            out._backward = _backward
            return out
        Value.__add__, Value.__mul__ = _add, _mul
        """, ("misconception:grad_assigned_not_accumulated",)),
    Bug("value_backward_without_topological_order", "Value", """
        def _backward_recursive(self):
            self.grad = 1.0
            def visit(node):
                node._backward()
                for child in node._prev:
                    visit(child)
            visit(self)
        Value.backward = _backward_recursive
        """, ("misconception:no_topological_order",)),
    Bug("value_wrong_pow_derivative", "Value", """
        def _pow(self, p):
            out = Value(self.data ** p, (self,), '**')
            def _backward():
                self.grad += p * self.data ** p * out.grad
            out._backward = _backward
            return out
        Value.__pow__ = _pow
        """),
    Bug("value_rsub_sign", "Value", """
        def _rsub(self, other):
            return self + (-other)
        Value.__rsub__ = _rsub
        """),
    Bug("value_wrong_rtruediv", "Value", """
        def _rtruediv(self, other):
            return self * other ** -1
        Value.__rtruediv__ = _rtruediv
        """),
]

VARIANTS = [
    Variant("recursive_topological_sort", """
        def _backward(self):
            topo, seen = [], set()
            def build(node):
                if node not in seen:
                    seen.add(node)
                    for child in node._prev:
                        build(child)
                    topo.append(node)
            build(self)
            self.grad = 1.0
            for node in reversed(topo):
                node._backward()
        Value.backward = _backward
        """),
    Variant("neuron_grads_float32", """
        import numpy as _np
        def neuron_grads(x, w, b):
            x32, w32 = x.astype(_np.float32), w.astype(_np.float32)
            s = 1 / (1 + _np.exp(-(x32 @ w32 + _np.float32(b))))
            d = s * (1 - s)
            return d * w32, d * x32, float(d)
        """),
]
