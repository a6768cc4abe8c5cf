"""04_optimization: the classic wrong steps and loops, and correct ones written differently."""
from tests.catalogue import Bug, Variant

BUGS = [
    Bug("sgd_step_rebinds", "sgd_step", """
        def sgd_step(params, grads, lr):
            for k, g in grads.items():
                params[k] = params[k] - lr * g
        """, ("not_in_place",)),
    Bug("sgd_step_ignores_lr", "sgd_step", """
        def sgd_step(params, grads, lr):
            for k, g in grads.items():
                params[k] -= g
        """, ("scaled",)),
    Bug("sgd_step_ascent", "sgd_step", """
        def sgd_step(params, grads, lr):
            for k, g in grads.items():
                params[k] += lr * g
        """, ("sign_flipped",)),
    Bug("momentum_buffer_zero_init", "sgd_momentum_step", """
        import numpy as _np
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                if weight_decay != 0:
                    g = g + weight_decay * p
                buf = state.setdefault(k, _np.zeros_like(p))
                buf *= momentum
                buf += (1 - dampening) * g
                p -= lr * (g + momentum * buf if nesterov else buf)
        """, ("misconception:momentum_buffer_zero_init",)),
    Bug("momentum_dampening_on_first_step", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                if weight_decay != 0:
                    g = g + weight_decay * p
                if k not in state:
                    state[k] = (1 - dampening) * g
                else:
                    state[k] = momentum * state[k] + (1 - dampening) * g
                buf = state[k]
                p -= lr * (g + momentum * buf if nesterov else buf)
        """, ("misconception:momentum_buffer_zero_init",)),
    Bug("momentum_nesterov_ignored", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                if weight_decay != 0:
                    g = g + weight_decay * p
                if k not in state:
                    state[k] = g.copy()
                else:
                    state[k] = momentum * state[k] + (1 - dampening) * g
                p -= lr * state[k]
        """, ("misconception:nesterov_ignored",)),
    Bug("momentum_nesterov_weight_decay_only_in_buffer", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, raw in grads.items():
                p = params[k]
                g = raw + weight_decay * p
                if k not in state:
                    state[k] = g.copy()
                else:
                    state[k] = momentum * state[k] + (1 - dampening) * g
                p -= lr * (raw + momentum * state[k] if nesterov else state[k])
        """, ("wrong_values",)),
    Bug("momentum_weight_decay_ignored", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                if k not in state:
                    state[k] = g.copy()
                else:
                    state[k] = momentum * state[k] + (1 - dampening) * g
                p -= lr * (g + momentum * state[k] if nesterov else state[k])
        """, ("misconception:weight_decay_ignored",)),
    Bug("momentum_state_not_kept", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                if weight_decay != 0:
                    g = g + weight_decay * p
                buf = g.copy()
                p -= lr * (g + momentum * buf if nesterov else buf)
        """, ("wrong_values",)),
    Bug("momentum_weight_decay_in_place_on_grads", "sgd_momentum_step", """
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, g in grads.items():
                p = params[k]
                g += weight_decay * p
                if k not in state:
                    state[k] = g.copy()
                else:
                    state[k] = momentum * state[k] + (1 - dampening) * g
                p -= lr * (g + momentum * state[k] if nesterov else state[k])
        """, ("mutated_input",)),
    Bug("adam_step_rebinds", "adam_step", """
        import numpy as _np
        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            b1, b2 = betas
            for k, g in grads.items():
                p = params[k]
                g = g + weight_decay * p
                s = state.setdefault(k, {"t": 0, "m": _np.zeros_like(p), "v": _np.zeros_like(p)})
                s["t"] += 1
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                m_hat = s["m"] / (1 - b1 ** s["t"])
                v_hat = s["v"] / (1 - b2 ** s["t"])
                params[k] = p - lr * m_hat / (_np.sqrt(v_hat) + eps)
        """, ("not_in_place",)),
    Bug("adam_no_bias_correction", "adam_step", """
        import numpy as _np
        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            b1, b2 = betas
            for k, g in grads.items():
                p = params[k]
                g = g + weight_decay * p
                s = state.setdefault(k, {"m": _np.zeros_like(p), "v": _np.zeros_like(p)})
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                p -= lr * s["m"] / (_np.sqrt(s["v"]) + eps)
        """, ("misconception:adam_no_bias_correction",)),
    Bug("adam_eps_inside_sqrt", "adam_step", """
        import numpy as _np
        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            b1, b2 = betas
            for k, g in grads.items():
                p = params[k]
                g = g + weight_decay * p
                s = state.setdefault(k, {"t": 0, "m": _np.zeros_like(p), "v": _np.zeros_like(p)})
                s["t"] += 1
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                m_hat = s["m"] / (1 - b1 ** s["t"])
                v_hat = s["v"] / (1 - b2 ** s["t"])
                p -= lr * m_hat / _np.sqrt(v_hat + eps)
        """, ("misconception:adam_eps_inside_sqrt",)),
    Bug("adam_weight_decay_ignored", "adam_step", """
        import numpy as _np
        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            b1, b2 = betas
            for k, g in grads.items():
                p = params[k]
                s = state.setdefault(k, {"t": 0, "m": _np.zeros_like(p), "v": _np.zeros_like(p)})
                s["t"] += 1
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                m_hat = s["m"] / (1 - b1 ** s["t"])
                v_hat = s["v"] / (1 - b2 ** s["t"])
                p -= lr * m_hat / (_np.sqrt(v_hat) + eps)
        """, ("misconception:weight_decay_ignored",)),
    Bug("adam_decoupled_weight_decay", "adam_step", """
        import numpy as _np
        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            b1, b2 = betas
            for k, g in grads.items():
                p = params[k]
                p *= 1 - lr * weight_decay
                s = state.setdefault(k, {"t": 0, "m": _np.zeros_like(p), "v": _np.zeros_like(p)})
                s["t"] += 1
                s["m"] = b1 * s["m"] + (1 - b1) * g
                s["v"] = b2 * s["v"] + (1 - b2) * g * g
                m_hat = s["m"] / (1 - b1 ** s["t"])
                v_hat = s["v"] / (1 - b2 ** s["t"])
                p -= lr * m_hat / (_np.sqrt(v_hat) + eps)
        """, ("misconception:adam_decoupled_weight_decay",)),
    Bug("iterate_minibatches_not_shuffled", "iterate_minibatches", """
        import numpy as _np
        def iterate_minibatches(n, batch_size, rng):
            order = _np.arange(n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, ("wrong_values",)),
    Bug("iterate_minibatches_drops_last", "iterate_minibatches", """
        def iterate_minibatches(n, batch_size, rng):
            order = rng.permutation(n)
            return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
        """, ("wrong_values",)),
    Bug("iterate_minibatches_global_rng", "iterate_minibatches", """
        import numpy as _np
        def iterate_minibatches(n, batch_size, rng):
            order = _np.random.permutation(n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, ("wrong_values",)),
    Bug("train_returns_last_minibatch_loss", "train", """
        def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
            history = []
            for _ in range(epochs):
                for idx in iterate_minibatches(len(x), batch_size, rng):
                    loss, grads = loss_fn(params, x[idx], y[idx])
                    sgd_step(params, grads, lr)
                history.append(float(loss))
            return history
        """, ("misconception:epoch_loss_last_minibatch",)),
    Bug("train_weights_by_examples", "train", """
        def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
            history = []
            for _ in range(epochs):
                total = 0.0
                for idx in iterate_minibatches(len(x), batch_size, rng):
                    loss, grads = loss_fn(params, x[idx], y[idx])
                    sgd_step(params, grads, lr)
                    total += float(loss) * len(idx)
                history.append(total / len(x))
            return history
        """, ("misconception:epoch_loss_weighted_by_examples",)),
    Bug("train_never_steps", "train", """
        import numpy as _np
        def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
            history = []
            for _ in range(epochs):
                losses = [loss_fn(params, x[idx], y[idx])[0]
                          for idx in iterate_minibatches(len(x), batch_size, rng)]
                history.append(float(_np.mean(losses)))
            return history
        """, ("wrong_values",)),
    Bug("train_shuffles_x_in_place", "train", """
        import numpy as _np
        def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
            history = []
            for _ in range(epochs):
                order = rng.permutation(len(x))
                x[...] = x[order]
                y[...] = y[order]
                losses = []
                for start in range(0, len(x), batch_size):
                    sl = slice(start, start + batch_size)
                    loss, grads = loss_fn(params, x[sl], y[sl])
                    sgd_step(params, grads, lr)
                    losses.append(float(loss))
                history.append(float(_np.mean(losses)))
            return history
        """, ("mutated_input",)),
    # train itself is right here: it must keep full marks, only sgd_step loses them
    Bug("sgd_step_ascent_used_by_train", "sgd_step", """
        def sgd_step(params, grads, lr):
            for k, g in grads.items():
                params[k] += lr * g
        """, ("sign_flipped",)),
    Bug("newton_hessian_summed", "logistic_newton_step", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            p = 1 / (1 + _np.exp(-(X @ w)))
            g = X.T @ (p - y) / len(y)
            H = (X.T * (p * (1 - p))) @ X
            return w - _np.linalg.solve(H, g)
        """, ("misconception:newton_hessian_not_averaged",)),
    Bug("newton_gradient_summed", "logistic_newton_step", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            p = 1 / (1 + _np.exp(-(X @ w)))
            g = X.T @ (p - y)
            H = (X.T * (p * (1 - p))) @ X / len(y)
            return w - _np.linalg.solve(H, g)
        """, ("misconception:newton_gradient_not_averaged",)),
    Bug("newton_gradient_step", "logistic_newton_step", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            p = 1 / (1 + _np.exp(-(X @ w)))
            return w - X.T @ (p - y) / len(y)
        """, ("misconception:gradient_step_not_newton",)),
    Bug("newton_hessian_without_curvature", "logistic_newton_step", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            p = 1 / (1 + _np.exp(-(X @ w)))
            g = X.T @ (p - y) / len(y)
            H = X.T @ X / len(y)
            return w - _np.linalg.solve(H, g)
        """, ("wrong_values",)),
    Bug("newton_returns_a_column", "logistic_newton_step", """
        import numpy as _np
        _logistic_newton_step = logistic_newton_step
        def logistic_newton_step(w, X, y):
            return _logistic_newton_step(w, X, y)[:, None]
        """, ("shape_mismatch",)),
    Bug("newton_updates_w_in_place", "logistic_newton_step", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            p = 1 / (1 + _np.exp(-(X @ w)))
            g = X.T @ (p - y) / len(y)
            H = (X.T * (p * (1 - p))) @ X / len(y)
            w -= _np.linalg.solve(H, g)
            return w
        """, ("mutated_input",)),
]

VARIANTS = [
    Variant("steps_float32_loops", """
        import numpy as _np
        def sgd_step(params, grads, lr):
            for k in params:
                p32 = params[k].astype(_np.float32)
                params[k][...] = p32 - _np.float32(lr) * grads[k].astype(_np.float32)

        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            f = _np.float32
            for k in params:
                p = params[k].astype(f)
                g = grads[k].astype(f) + f(weight_decay) * p
                if k in state:
                    state[k] = f(momentum) * state[k] + f(1 - dampening) * g
                else:
                    state[k] = g.copy()
                d = g + f(momentum) * state[k] if nesterov else state[k]
                params[k][...] = p - f(lr) * d

        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            f = _np.float32
            b1, b2 = f(betas[0]), f(betas[1])
            for k in params:
                p = params[k].astype(f)
                g = grads[k].astype(f) + f(weight_decay) * p
                t, m, v = state.get(k, (0, _np.zeros_like(p), _np.zeros_like(p)))
                t += 1
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                m_hat = m / (1 - b1 ** t)
                v_hat = v / (1 - b2 ** t)
                state[k] = (t, m, v)
                params[k][...] = p - f(lr) * m_hat / (_np.sqrt(v_hat) + f(eps))
        """),
    Variant("steps_elementwise_loops", """
        import math as _math
        def sgd_momentum_step(params, grads, state, lr, momentum=0.9, dampening=0.0,
                              weight_decay=0.0, nesterov=False):
            for k, p in params.items():
                flat_p, flat_g = p.reshape(-1), grads[k].reshape(-1)
                first = k not in state
                buf = state.setdefault(k, [0.0] * flat_p.size)
                for i in range(flat_p.size):
                    g = flat_g[i] + weight_decay * flat_p[i]
                    buf[i] = g if first else momentum * buf[i] + (1 - dampening) * g
                    flat_p[i] -= lr * (g + momentum * buf[i] if nesterov else buf[i])

        def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0):
            state["t"] = state.get("t", 0) + 1
            t = state["t"]
            for k, p in params.items():
                flat_p, flat_g = p.reshape(-1), grads[k].reshape(-1)
                m, v = state.setdefault(k, ([0.0] * flat_p.size, [0.0] * flat_p.size))
                for i in range(flat_p.size):
                    g = flat_g[i] + weight_decay * flat_p[i]
                    m[i] = betas[0] * m[i] + (1 - betas[0]) * g
                    v[i] = betas[1] * v[i] + (1 - betas[1]) * g * g
                    m_hat, v_hat = m[i] / (1 - betas[0] ** t), v[i] / (1 - betas[1] ** t)
                    flat_p[i] -= lr * m_hat / (_math.sqrt(v_hat) + eps)
        """),
    Variant("minibatches_and_train_written_differently", """
        import numpy as _np
        def iterate_minibatches(n, batch_size, rng):
            order = _np.arange(n)
            rng.shuffle(order)
            return _np.split(order, range(batch_size, n, batch_size))

        def train(loss_fn, params, x, y, lr, epochs, batch_size, rng):
            history = []
            epoch = 0
            while epoch < epochs:
                total, count = _np.float64(0.0), 0
                for idx in iterate_minibatches(x.shape[0], batch_size, rng):
                    loss, grads = loss_fn(params, x[idx], y[idx])
                    sgd_step(params, grads, lr)
                    total += loss
                    count += 1
                history.append(total / count)
                epoch += 1
            return history
        """),
    Variant("newton_float32_inverse", """
        import numpy as _np
        def logistic_newton_step(w, X, y):
            X32, w32, y32 = X.astype(_np.float32), w.astype(_np.float32), y.astype(_np.float32)
            p = 1 / (1 + _np.exp(-(X32 @ w32)))
            g = X32.T @ (p - y32) / len(y)
            H = X32.T @ _np.diag(p * (1 - p)) @ X32 / len(y)
            return (w32 - _np.linalg.inv(H) @ g).astype(_np.float64)
        """),
]
