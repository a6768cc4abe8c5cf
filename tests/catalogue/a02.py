"""02_chain_rule: the classic wrong chain rules and Value engines, and correct variants."""
from tests.catalogue import Bug, Variant

# Each Value bug swaps one method of the reference class for a wrong one.
BUGS = [
    Bug("composite_grad_missing_2x", "composite_grad", """
        import numpy as _np
        def composite_grad(x):
            return _np.exp(_np.sin(x ** 2)) * _np.cos(x ** 2)
        """, ("misconception:missing_inner_derivative",)),
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
        """, ("wrong_type",)),
    Bug("neuron_grads_dx_dw_swapped", "neuron_grads", """
        import numpy as _np
        def neuron_grads(x, w, b):
            s = 1 / (1 + _np.exp(-(w @ x + b)))
            d = s * (1 - s)
            return d * x, d * w, float(d)
        """, ("misconception:dx_dw_swapped",)),
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
        """, ("wrong_values",)),
    Bug("value_rsub_sign", "Value", """
        def _rsub(self, other):
            return self + (-other)
        Value.__rsub__ = _rsub
        """, ("wrong_values",)),
    Bug("value_wrong_rtruediv", "Value", """
        def _rtruediv(self, other):
            return self * other ** -1
        Value.__rtruediv__ = _rtruediv
        """, ("wrong_values",)),
    Bug("value_tanh_grad_no_square", "Value", """
        import math as _math
        def _tanh(self):
            out = Value(_math.tanh(self.data), (self,), 'tanh')
            def _backward():
                self.grad += (1.0 - out.data) * out.grad
            out._backward = _backward
            return out
        Value.tanh = _tanh
        """, ("wrong_values",)),
    Bug("value_relu_grad_one_at_zero", "Value", """
        def _relu(self):
            out = Value(max(self.data, 0.0), (self,), 'relu')
            def _backward():
                self.grad += (1.0 if self.data >= 0 else 0.0) * out.grad
            out._backward = _backward
            return out
        Value.relu = _relu
        """, ("misconception:relu_grad_at_zero",)),
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
