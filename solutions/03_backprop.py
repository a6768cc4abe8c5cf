"""Backpropagation through layers.

Every layer comes as a pair:
    out, cache = layer_forward(inputs...)
    grads = layer_backward(dout, cache)
where dout is the gradient of the loss with respect to out (same shape as
out), and cache is whatever the forward pass saves for the backward pass. You
choose what goes in the cache; the backward pass receives exactly the cache its
own forward returned, and must not modify it.

All arrays are NumPy float64 unless stated otherwise. Every gradient has the
shape of the thing it is the gradient of.
"""

import numpy as np


def linear_forward(x, w, b):
    """Fully connected layer: out = x @ w + b.

    x: inputs, shape (N, D).
    w: weights, shape (D, M).
    b: biases, shape (M,).
    Returns (out, cache): out of shape (N, M), and a cache for linear_backward.
    """
    ### BEGIN SOLUTION
    out = x @ w + b
    cache = (x, w)
    return out, cache
    ### END SOLUTION


def linear_backward(dout, cache):
    """Backward pass of linear_forward.

    dout: upstream gradient, shape (N, M).
    cache: the cache returned by linear_forward.
    Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    ### BEGIN SOLUTION
    x, w = cache
    dx = dout @ w.T
    dw = x.T @ dout
    # b was broadcast over the batch, so its gradient sums over the batch.
    db = dout.sum(axis=0)
    return dx, dw, db
    ### END SOLUTION


def relu_forward(x):
    """ReLU, out = max(0, x) elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for relu_backward.
    """
    ### BEGIN SOLUTION
    out = np.maximum(x, 0.0)
    cache = x
    return out, cache
    ### END SOLUTION


def relu_backward(dout, cache):
    """Backward pass of relu_forward (the gradient at exactly 0 is 0).

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by relu_forward.
    Returns dx, of the input's shape.
    """
    ### BEGIN SOLUTION
    x = cache
    return dout * (x > 0)
    ### END SOLUTION


def sigmoid_forward(x):
    """Sigmoid, out = 1 / (1 + exp(-x)) elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for sigmoid_backward.
    Must not overflow (or warn) for large |x|, e.g. |x| = 1000.
    """
    ### BEGIN SOLUTION
    # exp(-|x|) never overflows; the two branches are the same function.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)
    cache = out
    return out, cache
    ### END SOLUTION


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward.

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by sigmoid_forward.
    Returns dx, of the input's shape.
    """
    ### BEGIN SOLUTION
    out = cache
    return dout * out * (1.0 - out)
    ### END SOLUTION


def tanh_forward(x):
    """Hyperbolic tangent, elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for tanh_backward.
    """
    ### BEGIN SOLUTION
    out = np.tanh(x)
    cache = out
    return out, cache
    ### END SOLUTION


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward.

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by tanh_forward.
    Returns dx, of the input's shape.
    """
    ### BEGIN SOLUTION
    out = cache
    return dout * (1.0 - out ** 2)
    ### END SOLUTION


def softmax_cross_entropy(logits, y):
    """Softmax followed by cross-entropy, averaged over the batch.

    logits: class scores, shape (N, C).
    y: integer class labels in [0, C), shape (N,).
    Returns (loss, dlogits): loss is a float, the mean over the N examples of
    -log(softmax(logits[i])[y[i]]) (as torch.nn.functional.cross_entropy);
    dlogits is d loss / d logits, shape (N, C). Both must be correct and finite
    for logits as large as 1e3 in magnitude.
    """
    ### BEGIN SOLUTION
    y = np.asarray(y, dtype=np.intp)
    n = logits.shape[0]
    rows = np.arange(n)
    # Softmax is unchanged by subtracting a constant per row; subtracting the
    # row max keeps exp() from overflowing.
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1.0
    dlogits /= n
    return float(loss), dlogits
    ### END SOLUTION


def mse_loss(pred, target):
    """Mean squared error, as torch.nn.functional.mse_loss.

    pred, target: arrays of the same shape (any shape).
    Returns (loss, dpred): loss is a float, the mean over all elements of
    (pred - target)**2; dpred is d loss / d pred, of pred's shape.
    """
    ### BEGIN SOLUTION
    diff = pred - target
    loss = np.mean(diff ** 2)
    dpred = 2.0 * diff / diff.size
    return float(loss), dpred
    ### END SOLUTION


def mlp_loss(params, x, y):
    """Loss and gradients of a two-layer network.

        h = relu(x @ W1 + b1)
        logits = h @ W2 + b2
        loss = softmax cross-entropy of logits against y (batch mean)

    Build it from the layer functions above (linear_forward, relu_forward,
    softmax_cross_entropy, relu_backward, linear_backward), calling them by name.

    params: dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    x: inputs, shape (N, D).
    y: integer labels, shape (N,).
    Returns (loss, grads): loss a float; grads a dict with the same keys and
    shapes as params, holding d loss / d param.
    """
    ### BEGIN SOLUTION
    z1, cache1 = linear_forward(x, params['W1'], params['b1'])
    h, cache_relu = relu_forward(z1)
    logits, cache2 = linear_forward(h, params['W2'], params['b2'])
    loss, dlogits = softmax_cross_entropy(logits, y)

    dh, dW2, db2 = linear_backward(dlogits, cache2)
    dz1 = relu_backward(dh, cache_relu)
    _, dW1, db1 = linear_backward(dz1, cache1)
    grads = {'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2}
    return loss, grads
    ### END SOLUTION


def conv2d_forward(x, w, b, stride=1, padding=0):
    """2-D convolution, as torch.nn.functional.conv2d.

    Like torch (and every deep-learning library), this is a cross-correlation:
    the filter is not flipped.

    x: inputs, shape (N, C, H, W).
    w: filters, shape (F, C, KH, KW).
    b: biases, shape (F,).
    stride: step between neighbouring windows, the same along H and W (int).
    padding: number of zeros added on each side of H and of W (int).
    Returns (out, cache): out of shape (N, F, H_out, W_out) with
        H_out = (H + 2 * padding - KH) // stride + 1
        W_out = (W + 2 * padding - KW) // stride + 1
    and a cache for conv2d_backward.
    """
    ### BEGIN SOLUTION
    n, _, height, width = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out = (height + 2 * padding - kh) // stride + 1
    w_out = (width + 2 * padding - kw) // stride + 1

    out = np.empty((n, f, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            # Each output value is a dot product of one window with one filter.
            out[:, :, i, j] = np.einsum('nchw,fchw->nf', window, w)
    out += b.reshape(1, f, 1, 1)
    cache = (x, w, stride, padding)
    return out, cache
    ### END SOLUTION


def conv2d_backward(dout, cache):
    """Backward pass of conv2d_forward.

    dout: upstream gradient, shape (N, F, H_out, W_out).
    cache: the cache returned by conv2d_forward.
    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, KH, KW), (F,).
    """
    ### BEGIN SOLUTION
    x, w, stride, padding = cache
    _, _, height, width = x.shape
    _, _, kh, kw = w.shape
    _, _, h_out, w_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))

    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(h_out):
        for j in range(w_out):
            hs = slice(i * stride, i * stride + kh)
            ws = slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]
            dw += np.einsum('nf,nchw->fchw', g, xp[:, :, hs, ws])
            # Windows can overlap, so each input pixel sums every window it is in.
            dxp[:, :, hs, ws] += np.einsum('nf,fchw->nchw', g, w)
    # Gradients that landed on the zero padding belong to no input.
    dx = dxp[:, :, padding:padding + height, padding:padding + width]
    return dx, dw, db
    ### END SOLUTION


def maxpool2d_forward(x, kernel_size=2, stride=2):
    """Max pooling, as torch.nn.functional.max_pool2d (no padding).

    x: inputs, shape (N, C, H, W).
    kernel_size: side of each square window (int).
    stride: step between neighbouring windows (int); windows overlap when
        stride < kernel_size.
    Returns (out, cache): out of shape (N, C, H_out, W_out) with
        H_out = (H - kernel_size) // stride + 1, and likewise W_out,
    and a cache for maxpool2d_backward.
    """
    ### BEGIN SOLUTION
    n, c, height, width = x.shape
    k = kernel_size
    h_out = (height - k) // stride + 1
    w_out = (width - k) // stride + 1

    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = window.max(axis=(2, 3))
    cache = (x, kernel_size, stride)
    return out, cache
    ### END SOLUTION


def maxpool2d_backward(dout, cache):
    """Backward pass of maxpool2d_forward.

    dout: upstream gradient, shape (N, C, H_out, W_out).
    cache: the cache returned by maxpool2d_forward.
    Returns dx of shape (N, C, H, W). As torch does, when several elements of a
    window tie for the maximum, the whole gradient goes to the first of them in
    row-major order within the window.
    """
    ### BEGIN SOLUTION
    x, k, stride = cache
    n, c, _, _ = x.shape
    _, _, h_out, w_out = dout.shape

    dx = np.zeros(x.shape)
    for i in range(h_out):
        for j in range(w_out):
            hs = slice(i * stride, i * stride + k)
            ws = slice(j * stride, j * stride + k)
            # np.argmax returns the first maximum, which is torch's tie rule.
            first_max = x[:, :, hs, ws].reshape(n, c, k * k).argmax(axis=2)
            mask = np.arange(k * k) == first_max[:, :, None]
            # += because overlapping windows may pick the same element.
            dx[:, :, hs, ws] += (mask * dout[:, :, i, j, None]).reshape(n, c, k, k)
    return dx
    ### END SOLUTION


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalisation in training mode, as
    torch.nn.functional.batch_norm(..., training=True).

    Each feature is normalised with the mean and the biased variance (divide
    by N) of the current batch, then scaled by gamma and shifted by beta.

    x: inputs, shape (N, D).
    gamma: scale, shape (D,).
    beta: shift, shape (D,).
    eps: added to the variance before taking the square root.
    Returns (out, cache): out of shape (N, D), and a cache for batchnorm_backward.
    """
    ### BEGIN SOLUTION
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, inv_std)
    return out, cache
    ### END SOLUTION


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward.

    dout: upstream gradient, shape (N, D).
    cache: the cache returned by batchnorm_forward.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    ### BEGIN SOLUTION
    x_hat, gamma, inv_std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # The batch mean and variance depend on every row, which is where the two
    # subtracted terms come from (the gradient through mean and variance).
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0)
                    - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, dgamma, dbeta
    ### END SOLUTION
