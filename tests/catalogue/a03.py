"""03_backprop: the classic wrong layers, and correct ones written differently."""
from tests.catalogue import Bug, Variant

BUGS = [
    Bug("linear_forward_no_bias", "linear_forward", """
        def linear_forward(x, w, b):
            return x @ w, (x, w)
        """, ("wrong_values",)),
    Bug("linear_backward_transposed_dw", "linear_backward", """
        def linear_backward(dout, cache):
            x, w = cache
            return dout @ w.T, (x.T @ dout).T, dout.sum(axis=0)
        """, ("shape_mismatch", "transposed")),
    Bug("linear_backward_dx_transposed", "linear_backward", """
        def linear_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).T, x.T @ dout, dout.sum(axis=0)
        """, ("shape_mismatch", "transposed")),
    Bug("linear_backward_db_not_summed", "linear_backward", """
        def linear_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout, dout
        """, ("shape_mismatch", "not_reduced")),
    Bug("linear_backward_mean_not_sum", "linear_backward", """
        def linear_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout / len(x), dout.mean(axis=0)
        """, ("scaled",)),
    Bug("linear_backward_ignores_dout", "linear_backward", """
        import numpy as _np
        def linear_backward(dout, cache):
            x, w = cache
            ones = _np.ones_like(dout)
            return ones @ w.T, x.T @ ones, ones.sum(axis=0)
        """, ("wrong_values",)),
    Bug("relu_backward_one_at_zero", "relu_backward", """
        def relu_backward(dout, cache):
            return dout * (cache >= 0)
        """, ("misconception:relu_grad_at_zero",)),
    Bug("sigmoid_backward_missing_one_minus", "sigmoid_backward", """
        def sigmoid_backward(dout, cache):
            return dout * cache
        """, ("wrong_values",)),
    Bug("sigmoid_backward_sign_flipped", "sigmoid_backward", """
        def sigmoid_backward(dout, cache):
            return dout * cache * (cache - 1)
        """, ("sign_flipped",)),
    Bug("tanh_backward_no_square", "tanh_backward", """
        def tanh_backward(dout, cache):
            return dout * (1 - cache)
        """, ("wrong_values",)),
    Bug("tanh_backward_sign_flipped", "tanh_backward", """
        def tanh_backward(dout, cache):
            return dout * (cache ** 2 - 1)
        """, ("sign_flipped",)),
    Bug("softmax_no_max_subtraction", "softmax_cross_entropy", """
        import numpy as _np
        def softmax_cross_entropy(logits, y):
            n = len(logits)
            p = _np.exp(logits) / _np.exp(logits).sum(axis=1, keepdims=True)
            loss = -_np.log(p[_np.arange(n), y]).mean()
            d = p.copy()
            d[_np.arange(n), y] -= 1
            return float(loss), d / n
        """, ("nan_or_inf",)),
    Bug("softmax_not_divided_by_n", "softmax_cross_entropy", """
        import numpy as _np
        def softmax_cross_entropy(logits, y):
            n = len(logits)
            s = logits - logits.max(axis=1, keepdims=True)
            logp = s - _np.log(_np.exp(s).sum(axis=1, keepdims=True))
            d = _np.exp(logp)
            d[_np.arange(n), y] -= 1
            return float(-logp[_np.arange(n), y].mean()), d
        """, ("misconception:not_divided_by_n",)),
    Bug("mse_missing_factor_two", "mse_loss", """
        import numpy as _np
        def mse_loss(pred, target):
            diff = pred - target
            return float(_np.mean(diff ** 2)), diff / diff.size
        """, ("scaled",)),
    Bug("mse_summed_not_averaged", "mse_loss", """
        import numpy as _np
        def mse_loss(pred, target):
            diff = pred - target
            return float(_np.mean(diff ** 2)), 2 * diff
        """, ("scaled",)),
    Bug("softmax_loss_per_example", "softmax_cross_entropy", """
        import numpy as _np
        def softmax_cross_entropy(logits, y):
            n = len(logits)
            s = logits - logits.max(axis=1, keepdims=True)
            logp = s - _np.log(_np.exp(s).sum(axis=1, keepdims=True))
            d = _np.exp(logp)
            d[_np.arange(n), y] -= 1
            return -logp[_np.arange(n), y], d / n
        """, ("wrong_type", "not_reduced")),
    Bug("mlp_loss_b2_not_summed", "mlp_loss", """
        def mlp_loss(params, x, y):
            z1, c1 = linear_forward(x, params['W1'], params['b1'])
            h, cr = relu_forward(z1)
            logits, c2 = linear_forward(h, params['W2'], params['b2'])
            loss, dlogits = softmax_cross_entropy(logits, y)
            dh, dW2, _ = linear_backward(dlogits, c2)
            _, dW1, db1 = linear_backward(relu_backward(dh, cr), c1)
            return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': dlogits}
        """, ("shape_mismatch", "not_reduced")),
    Bug("mlp_loss_skips_relu_backward", "mlp_loss", """
        def mlp_loss(params, x, y):
            z1, c1 = linear_forward(x, params['W1'], params['b1'])
            h, cr = relu_forward(z1)
            logits, c2 = linear_forward(h, params['W2'], params['b2'])
            loss, dlogits = softmax_cross_entropy(logits, y)
            dh, dW2, db2 = linear_backward(dlogits, c2)
            _, dW1, db1 = linear_backward(dh, c1)
            return loss, {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}
        """, ("wrong_values",)),
    Bug("conv2d_forward_no_bias", "conv2d_forward", """
        _conv2d_forward = conv2d_forward
        def conv2d_forward(x, w, b, stride=1, padding=0):
            out, cache = _conv2d_forward(x, w, b, stride, padding)
            return out - b.reshape(1, -1, 1, 1), cache
        """, ("wrong_values",)),
    Bug("conv2d_backward_db_not_summed_spatially", "conv2d_backward", """
        _conv2d_backward = conv2d_backward
        def conv2d_backward(dout, cache):
            dx, dw, db = _conv2d_backward(dout, cache)
            return dx, dw, dout.sum(axis=0)
        """, ("shape_mismatch",)),
    Bug("conv2d_backward_dw_sign_flipped", "conv2d_backward", """
        _conv2d_backward = conv2d_backward
        def conv2d_backward(dout, cache):
            dx, dw, db = _conv2d_backward(dout, cache)
            return dx, -dw, db
        """, ("sign_flipped",)),
    Bug("maxpool2d_backward_assigns_not_accumulates", "maxpool2d_backward", """
        import numpy as _np
        def maxpool2d_backward(dout, cache):
            x, k, stride = cache
            n, c, _, _ = x.shape
            dx = _np.zeros(x.shape)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    hs, ws = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    first = x[:, :, hs, ws].reshape(n, c, k * k).argmax(axis=2)
                    mask = (_np.arange(k * k) == first[:, :, None]).reshape(n, c, k, k)
                    region = dx[:, :, hs, ws]
                    region[mask] = (mask * dout[:, :, i, j, None, None])[mask]
            return dx
        """, ("wrong_values",)),
    Bug("maxpool2d_backward_every_maximum", "maxpool2d_backward", """
        import numpy as _np
        def maxpool2d_backward(dout, cache):
            x, k, stride = cache
            dx = _np.zeros(x.shape)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    hs, ws = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    window = x[:, :, hs, ws]
                    mask = window == window.max(axis=(2, 3), keepdims=True)
                    dx[:, :, hs, ws] += mask * dout[:, :, i, j, None, None]
            return dx
        """, ("misconception:maxpool_tie_every_maximum",)),
    Bug("maxpool2d_backward_last_maximum", "maxpool2d_backward", """
        import numpy as _np
        def maxpool2d_backward(dout, cache):
            x, k, stride = cache
            n, c, _, _ = x.shape
            dx = _np.zeros(x.shape)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    hs, ws = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    flat = x[:, :, hs, ws].reshape(n, c, k * k)
                    last = k * k - 1 - flat[:, :, ::-1].argmax(axis=2)
                    mask = (_np.arange(k * k) == last[:, :, None]).reshape(n, c, k, k)
                    dx[:, :, hs, ws] += mask * dout[:, :, i, j, None, None]
            return dx
        """, ("misconception:maxpool_tie_other_split",)),
    Bug("batchnorm_forward_no_beta", "batchnorm_forward", """
        _batchnorm_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            out, cache = _batchnorm_forward(x, gamma, beta, eps)
            return out - beta, cache
        """, ("wrong_values",)),
    Bug("batchnorm_backward_no_mean_terms", "batchnorm_backward", """
        def batchnorm_backward(dout, cache):
            x_hat, gamma, inv_std = cache
            return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        """, ("wrong_values",)),
    Bug("batchnorm_backward_dgamma_not_summed", "batchnorm_backward", """
        _batchnorm_backward = batchnorm_backward
        def batchnorm_backward(dout, cache):
            dx, dgamma, dbeta = _batchnorm_backward(dout, cache)
            return dx, dout * cache[0], dbeta
        """, ("shape_mismatch", "not_reduced")),
    Bug("batchnorm_backward_dbeta_mean", "batchnorm_backward", """
        _batchnorm_backward = batchnorm_backward
        def batchnorm_backward(dout, cache):
            dx, dgamma, dbeta = _batchnorm_backward(dout, cache)
            return dx, dgamma, dout.mean(axis=0)
        """, ("scaled",)),
    Bug("batchnorm_backward_mutates_cache", "batchnorm_backward", """
        _batchnorm_backward = batchnorm_backward
        def batchnorm_backward(dout, cache):
            grads = _batchnorm_backward(dout, cache)
            cache[0][...] = 0.0
            return grads
        """, ("mutated_input",)),
    Bug("relu_forward_in_place", "relu_forward", """
        def relu_forward(x):
            x[x < 0] = 0.0
            return x, x.copy()
        """, ("mutated_input",)),
]

VARIANTS = [
    Variant("float32_internals", """
        import numpy as _np
        def linear_backward(dout, cache):
            x, w = (a.astype(_np.float32) for a in cache)
            d = dout.astype(_np.float32)
            return d @ w.T, x.T @ d, d.sum(axis=0)
        def batchnorm_backward(dout, cache):
            x_hat, gamma, inv_std = (_np.asarray(a, _np.float32) for a in cache)
            d = dout.astype(_np.float32)
            dx_hat = d * gamma
            dx = inv_std * (dx_hat - dx_hat.mean(0) - x_hat * (dx_hat * x_hat).mean(0))
            return dx, (d * x_hat).sum(0), d.sum(0)
        def sigmoid_forward(x):
            s = (1 / (1 + _np.exp(-_np.clip(x, -80, 80).astype(_np.float32))))
            return s, s
        def sigmoid_backward(dout, cache):
            return dout * cache * (1 - cache)
        """),
    Variant("einsum_and_where", """
        import numpy as _np
        def linear_backward(dout, cache):
            x, w = cache
            return _np.einsum('nm,dm->nd', dout, w), _np.einsum('nd,nm->dm', x, dout), \\
                _np.einsum('nm->m', dout)
        def relu_backward(dout, cache):
            return _np.where(cache > 0, dout, 0.0)
        def maxpool2d_backward(dout, cache):
            x, k, stride = cache
            dx = _np.zeros(x.shape)
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    hs, ws = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    window = x[:, :, hs, ws]
                    top = (window == window.max(axis=(2, 3), keepdims=True)).reshape(
                        window.shape[0], window.shape[1], -1)
                    first = (top & (_np.cumsum(top, axis=2) == 1)).reshape(window.shape)
                    dx[:, :, hs, ws] += first * dout[:, :, i, j, None, None]
            return dx
        """),
    Variant("loops", """
        import numpy as _np
        def linear_forward(x, w, b):
            out = _np.zeros((x.shape[0], w.shape[1]))
            for i in range(x.shape[0]):
                for j in range(w.shape[1]):
                    out[i, j] = sum(x[i, k] * w[k, j] for k in range(x.shape[1])) + b[j]
            return out, {"x": x, "w": w}
        def linear_backward(dout, cache):
            x, w = cache["x"], cache["w"]
            return dout @ w.T, x.T @ dout, _np.array([dout[:, j].sum() for j in range(dout.shape[1])])
        def softmax_cross_entropy(logits, y):
            n = logits.shape[0]
            loss, d = 0.0, _np.zeros_like(logits)
            for i in range(n):
                z = logits[i] - logits[i].max()
                logp = z - _np.log(_np.exp(z).sum())
                p = _np.exp(logp)
                loss -= logp[y[i]] / n
                d[i] = p / n
                d[i, y[i]] -= 1 / n
            return loss, d
        """),
]
