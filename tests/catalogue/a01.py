"""01_derivatives: the classic wrong derivatives, and correct ones written differently."""
from tests.catalogue import Bug, Variant

BUGS = [
    Bug("forward_difference", "numerical_derivative", """
        def numerical_derivative(f, x, h=1e-5):
            return (f(x + h) - f(x)) / h
        """, ("misconception:forward_difference",)),
    Bug("numerical_derivative_ignores_h", "numerical_derivative", """
        def numerical_derivative(f, x, h=1e-5):
            step = 1e-5
            return (f(x + step) - f(x - step)) / (2 * step)
        """, ("misconception:ignores_h",)),
    Bug("numerical_derivative_divides_by_h", "numerical_derivative", """
        def numerical_derivative(f, x, h=1e-5):
            return (f(x + h) - f(x - h)) / h
        """, ("scaled",)),
    Bug("numerical_gradient_returns_a_list", "numerical_gradient", """
        import numpy as _np
        _numerical_gradient = numerical_gradient
        def numerical_gradient(f, x, h=1e-5):
            return _numerical_gradient(f, x, h).tolist()
        """, ("wrong_type",)),
    Bug("numerical_gradient_does_not_restore_x", "numerical_gradient", """
        import numpy as _np
        def numerical_gradient(f, x, h=1e-5):
            grad = _np.zeros(x.shape)
            for i in _np.ndindex(x.shape):
                old = x[i]
                x[i] = old + h
                up = f(x)
                x[i] = old - h
                down = f(x)
                grad[i] = (up - down) / (2 * h)
            return grad
        """, ("mutated_input",)),
    Bug("numerical_gradient_forward_difference", "numerical_gradient", """
        import numpy as _np
        def numerical_gradient(f, x, h=1e-5):
            x = _np.array(x, dtype=float)
            grad, base = _np.zeros(x.shape), f(x)
            for i in _np.ndindex(x.shape):
                x[i] += h
                grad[i] = (f(x) - base) / h
                x[i] -= h
            return grad
        """, ("misconception:forward_difference",)),
    Bug("numerical_gradient_ignores_h", "numerical_gradient", """
        import numpy as _np
        def numerical_gradient(f, x, h=1e-5):
            x = _np.array(x, dtype=float)
            grad = _np.zeros(x.shape)
            for i in _np.ndindex(x.shape):
                old = x[i]
                x[i] = old + 1e-5
                up = f(x)
                x[i] = old - 1e-5
                down = f(x)
                x[i] = old
                grad[i] = (up - down) / 2e-5
            return grad
        """, ("misconception:ignores_h",)),
    Bug("sigmoid_grad_from_x", "sigmoid_grad", """
        def sigmoid_grad(x):
            return x * (1 - x)
        """, ("misconception:sigmoid_grad_from_x",)),
    Bug("tanh_grad_no_square", "tanh_grad", """
        import numpy as _np
        def tanh_grad(x):
            return 1 - _np.tanh(x)
        """, ("misconception:tanh_grad_no_square",)),
    Bug("tanh_grad_sign_flipped", "tanh_grad", """
        import numpy as _np
        def tanh_grad(x):
            return _np.tanh(x) ** 2 - 1
        """, ("sign_flipped",)),
    Bug("sigmoid_grad_flattened", "sigmoid_grad", """
        import numpy as _np
        def sigmoid_grad(x):
            s = 1 / (1 + _np.exp(-_np.clip(x, -500, 500)))
            return (s * (1 - s)).ravel()
        """, ("shape_mismatch",)),
    Bug("softplus_grad_overflows", "softplus_grad", """
        import numpy as _np
        def softplus_grad(x):
            with _np.errstate(over="ignore", invalid="ignore"):
                return _np.exp(x) / (1 + _np.exp(x))
        """, ("nan_or_inf",)),
    Bug("relu_grad_one_at_zero", "relu_grad", """
        def relu_grad(x):
            return (x >= 0).astype(float)
        """, ("misconception:relu_grad_one_at_zero",)),
    Bug("relu_grad_heaviside_half", "relu_grad", """
        import numpy as _np
        def relu_grad(x):
            return _np.heaviside(x, 0.5)
        """, ("misconception:relu_grad_at_zero",)),
    Bug("f_xy_partials_df_dy_wrong", "f_xy_partials", """
        import numpy as _np
        def f_xy_partials(x, y):
            return 2 * x * y + y * _np.cos(x * y), x ** 2 + _np.cos(x * y)
        """, ("misconception:missing_inner_derivative",)),
    Bug("gradient_check_without_abs", "gradient_check", """
        import numpy as _np
        def gradient_check(f, grad_f, x, h=1e-5):
            a, n = grad_f(x), numerical_gradient(f, x, h)
            return float(_np.max((a - n) / _np.maximum(1e-8, _np.abs(a) + _np.abs(n))))
        """, ("misconception:signed_relative_error",)),
    Bug("gradient_check_divides_by_numerical", "gradient_check", """
        import numpy as _np
        def gradient_check(f, grad_f, x, h=1e-5):
            a, n = grad_f(x), numerical_gradient(f, x, h)
            return float(_np.max(_np.abs(a - n) / _np.maximum(1e-8, _np.abs(n))))
        """, ("misconception:wrong_denominator",)),
]

VARIANTS = [
    Variant("float32_and_where", """
        import numpy as _np
        def sigmoid_grad(x):
            s = (1 / (1 + _np.exp(-_np.clip(x, -60, 60)))).astype(_np.float32)
            return s * (1 - s)
        def tanh_grad(x):
            return (1 - _np.tanh(x.astype(_np.float32)) ** 2)
        def relu_grad(x):
            return _np.where(x > 0, 1.0, 0.0)
        def softplus_grad(x):
            return _np.where(x >= 0, 1 / (1 + _np.exp(-_np.abs(x))),
                             _np.exp(-_np.abs(x)) / (1 + _np.exp(-_np.abs(x))))
        """),
    Variant("numerical_gradient_on_a_copy", """
        import numpy as _np
        def numerical_gradient(f, x, h=1e-5):
            flat = _np.array(x, dtype=_np.float64).ravel()
            grad = _np.empty_like(flat)
            for i in range(flat.size):
                step = _np.zeros_like(flat)
                step[i] = h
                grad[i] = (f((flat + step).reshape(x.shape)) -
                           f((flat - step).reshape(x.shape))) / (2 * h)
            return grad.reshape(x.shape)
        """),
]
