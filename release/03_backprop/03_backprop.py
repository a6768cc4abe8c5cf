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
    raise NotImplementedError()


def linear_backward(dout, cache):
    """Backward pass of linear_forward.

    dout: upstream gradient, shape (N, M).
    cache: the cache returned by linear_forward.
    Returns (dx, dw, db) of shapes (N, D), (D, M), (M,).
    """
    raise NotImplementedError()


def relu_forward(x):
    """ReLU, out = max(0, x) elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for relu_backward.
    """
    raise NotImplementedError()


def relu_backward(dout, cache):
    """Backward pass of relu_forward (the gradient at exactly 0 is 0).

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by relu_forward.
    Returns dx, of the input's shape.
    """
    raise NotImplementedError()


def sigmoid_forward(x):
    """Sigmoid, out = 1 / (1 + exp(-x)) elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for sigmoid_backward.
    Must not overflow (or warn) for large |x|, e.g. |x| = 1000.
    """
    raise NotImplementedError()


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward.

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by sigmoid_forward.
    Returns dx, of the input's shape.
    """
    raise NotImplementedError()


def tanh_forward(x):
    """Hyperbolic tangent, elementwise.

    x: array of any shape.
    Returns (out, cache): out of x's shape, and a cache for tanh_backward.
    """
    raise NotImplementedError()


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward.

    dout: upstream gradient, of the input's shape.
    cache: the cache returned by tanh_forward.
    Returns dx, of the input's shape.
    """
    raise NotImplementedError()


def softmax_cross_entropy(logits, y):
    """Softmax followed by cross-entropy, averaged over the batch.

    logits: class scores, shape (N, C).
    y: integer class labels in [0, C), shape (N,).
    Returns (loss, dlogits): loss is a float, the mean over the N examples of
    -log(softmax(logits[i])[y[i]]) (as torch.nn.functional.cross_entropy);
    dlogits is d loss / d logits, shape (N, C). Both must be correct and finite
    for logits as large as 1e3 in magnitude.
    """
    raise NotImplementedError()


def mse_loss(pred, target):
    """Mean squared error, as torch.nn.functional.mse_loss.

    pred, target: arrays of the same shape (any shape).
    Returns (loss, dpred): loss is a float, the mean over all elements of
    (pred - target)**2; dpred is d loss / d pred, of pred's shape.
    """
    raise NotImplementedError()


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
    raise NotImplementedError()


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
    raise NotImplementedError()


def conv2d_backward(dout, cache):
    """Backward pass of conv2d_forward.

    dout: upstream gradient, shape (N, F, H_out, W_out).
    cache: the cache returned by conv2d_forward.
    Returns (dx, dw, db) of shapes (N, C, H, W), (F, C, KH, KW), (F,).
    """
    raise NotImplementedError()


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
    raise NotImplementedError()


def maxpool2d_backward(dout, cache):
    """Backward pass of maxpool2d_forward.

    dout: upstream gradient, shape (N, C, H_out, W_out).
    cache: the cache returned by maxpool2d_forward.
    Returns dx of shape (N, C, H, W). As torch does, when several elements of a
    window tie for the maximum, the whole gradient goes to the first of them in
    row-major order within the window.
    """
    raise NotImplementedError()


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
    raise NotImplementedError()


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward.

    dout: upstream gradient, shape (N, D).
    cache: the cache returned by batchnorm_forward.
    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    raise NotImplementedError()
