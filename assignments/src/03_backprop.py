# %% [markdown]
# # 03 · Backpropagation through layers / 逐层反向传播
#
# Every layer is a pair: `out, cache = layer_forward(...)` and
# `grads = layer_backward(dout, cache)`, where `dout` is d loss / d out (of
# out's shape). You choose what goes in the cache; never modify it. Every
# gradient has the shape of what it is the gradient of. NumPy only; results
# are compared with torch. Self-checks run the public cases; hidden cases are
# graded later.
#
# 每一层都是一对函数：`out, cache = layer_forward(...)` 和
# `grads = layer_backward(dout, cache)`，`dout` 是损失对 out 的梯度（形状同 out）。
# cache 里放什么由你决定，但不能修改它。每个梯度的形状与对应变量相同。只能使用 NumPy，
# 结果与 torch 比较。自检只运行公开用例，隐藏用例之后评分。

# %% [markdown]
# ## linear_forward
# out = x @ w + b: x (N, D), w (D, M), b (M,) broadcast over the batch.
# Example: x = [[1, 2]], w = [[1], [1]], b = [0.5] gives [[3.5]].
#
# 全连接层 out = x @ w + b，b 在批维度上广播。例：x = [[1, 2]]，w = [[1], [1]]，
# b = [0.5]，得 [[3.5]]。

# %% answer="linear_forward"

# %% [markdown]
# ## linear_backward
# dx = dout @ wᵀ, dw = xᵀ @ dout, and db sums dout over the batch (b was
# broadcast to every row). Check shapes: dw must be (D, M) like w.
# Example: x = [[1, 2]], dout = [[1]] gives dw = [[1], [2]], db = [1].
#
# dx = dout @ wᵀ，dw = xᵀ @ dout，db 是 dout 沿批维度求和（b 被广播到每一行）。
# 检查形状：dw 必须和 w 一样是 (D, M)。例：x = [[1, 2]]，dout = [[1]]，
# 得 dw = [[1], [2]]，db = [1]。

# %% answer="linear_backward"

# %% [markdown]
# ## relu_forward
# out = max(0, x) elementwise. Example: [-1, 0, 2] → [0, 0, 2].
#
# 逐元素 out = max(0, x)。例：[-1, 0, 2] → [0, 0, 2]。

# %% answer="relu_forward"

# %% [markdown]
# ## relu_backward
# The gradient passes where x > 0 and is blocked elsewhere (0 at x = 0).
# Example: x = [-1, 0, 2], dout = [5, 5, 5] → [0, 0, 5].
#
# 梯度只在 x > 0 处通过，其余位置（包括 x = 0）为 0。例：x = [-1, 0, 2]，
# dout = [5, 5, 5] → [0, 0, 5]。

# %% answer="relu_backward"

# %% [markdown]
# ## sigmoid_forward
# σ(x) = 1 / (1 + e^(-x)); use e^(-|x|) so nothing overflows at |x| = 1000.
# Example: σ(0) = 0.5.
#
# σ(x) = 1 / (1 + e^(-x))；用 e^(-|x|) 计算，|x| = 1000 时也不会溢出。例：σ(0) = 0.5。

# %% answer="sigmoid_forward"

# %% [markdown]
# ## sigmoid_backward
# dx = dout · σ(x)(1 - σ(x)); caching the output makes this cheap.
# Example: out = 0.5, dout = 1 → 0.25.
#
# dx = dout · σ(x)(1 - σ(x))；缓存输出即可方便地计算。例：out = 0.5，dout = 1 → 0.25。

# %% answer="sigmoid_backward"

# %% [markdown]
# ## tanh_forward
# out = tanh(x) elementwise. Example: tanh(0) = 0.
#
# 逐元素 out = tanh(x)。例：tanh(0) = 0。

# %% answer="tanh_forward"

# %% [markdown]
# ## tanh_backward
# dx = dout · (1 - tanh(x)²). Example: out = 0.5, dout = 1 → 0.75.
#
# dx = dout · (1 - tanh(x)²)。例：out = 0.5，dout = 1 → 0.75。

# %% answer="tanh_backward"

# %% [markdown]
# ## softmax_cross_entropy
# loss = mean over rows of -log softmax(logits)[y]; subtract each row's max
# first so exp never overflows. The gradient is (softmax - one_hot(y)) / N.
# Example: logits = [[0, 0]], y = [0] → loss = log 2 ≈ 0.693, dlogits = [[-0.5, 0.5]].
#
# loss 是各行 -log softmax(logits)[y] 的平均；先减去每行最大值，exp 才不会溢出。
# 梯度为 (softmax - one_hot(y)) / N。例：logits = [[0, 0]]，y = [0] →
# loss = log 2 ≈ 0.693，dlogits = [[-0.5, 0.5]]。

# %% answer="softmax_cross_entropy"

# %% [markdown]
# ## mse_loss
# loss = mean((pred - target)²) over all elements; dpred = 2(pred - target) / size.
# Example: pred = [1, 3], target = [0, 0] → loss = 5, dpred = [1, 3].
#
# loss = 所有元素 (pred - target)² 的平均；dpred = 2(pred - target) / 元素个数。
# 例：pred = [1, 3]，target = [0, 0] → loss = 5，dpred = [1, 3]。

# %% answer="mse_loss"

# %% [markdown]
# ## mlp_loss
# Chain the layers: linear → relu → linear → softmax cross-entropy, then call
# the backward passes in reverse order, each with the cache of its own forward.
#
# 把各层串起来：linear → relu → linear → softmax 交叉熵，然后按相反顺序调用各层的
# 反向函数，每个反向函数使用它自己前向返回的 cache。

# %% answer="mlp_loss"

# %% [markdown]
# ## conv2d_forward
# Each output value is the dot product of one window of the (zero-padded)
# input with one filter, plus that filter's bias; not flipped (cross-correlation).
# H_out = (H + 2·padding - KH) // stride + 1. Example: a 3×3 input of ones and
# a 2×2 filter of ones give a 2×2 output of 4s.
#
# 每个输出值是（零填充后）输入的一个窗口与一个卷积核的点积，再加偏置；卷积核不翻转
# （互相关）。H_out = (H + 2·padding - KH) // stride + 1。例：3×3 全 1 输入与 2×2 全 1
# 卷积核得到 2×2、值为 4 的输出。

# %% answer="conv2d_forward"

# %% [markdown]
# ## conv2d_backward
# db sums dout over N, H_out, W_out; dw adds, per window, dout × window;
# dx adds dout × filter back into every window (windows overlap, so use +=)
# and drops what landed on the padding.
#
# db 是 dout 在 N、H_out、W_out 上的和；dw 对每个窗口累加 dout × 窗口；dx 把
# dout × 卷积核加回每个窗口（窗口会重叠，要用 +=），最后去掉落在填充区的部分。

# %% answer="conv2d_backward"

# %% [markdown]
# ## maxpool2d_forward
# Each output is the maximum of one kernel_size × kernel_size window.
# Example: [[1, 2], [3, 4]] with a 2×2 window → [[4]].
#
# 每个输出是一个 kernel_size × kernel_size 窗口的最大值。例：[[1, 2], [3, 4]]
# 用 2×2 窗口 → [[4]]。

# %% answer="maxpool2d_forward"

# %% [markdown]
# ## maxpool2d_backward
# The whole gradient of a window goes to its maximum (the first one, in
# row-major order, on a tie); overlapping windows add up.
# Example: [[1, 2], [3, 4]], dout = [[1]] → [[0, 0], [0, 1]].
#
# 每个窗口的梯度全部传给其最大值（并列时给按行优先的第一个）；重叠窗口的梯度相加。
# 例：[[1, 2], [3, 4]]，dout = [[1]] → [[0, 0], [0, 1]]。

# %% answer="maxpool2d_backward"

# %% [markdown]
# ## batchnorm_forward
# Normalise each feature with the batch mean and biased variance:
# x̂ = (x - μ) / √(σ² + eps), then out = γ·x̂ + β.
# Example: a feature column [1, 3] has μ = 2, σ² = 1, so x̂ ≈ [-1, 1].
#
# 用批均值与有偏方差归一化每个特征：x̂ = (x - μ) / √(σ² + eps)，再 out = γ·x̂ + β。
# 例：特征列 [1, 3] 的 μ = 2，σ² = 1，所以 x̂ ≈ [-1, 1]。

# %% answer="batchnorm_forward"

# %% [markdown]
# ## batchnorm_backward
# dβ = Σ dout, dγ = Σ dout·x̂; for dx remember that μ and σ² depend on every
# row: dx = (1/σ)(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)) with dx̂ = dout·γ.
#
# dβ = Σ dout，dγ = Σ dout·x̂；求 dx 时记住 μ 和 σ² 依赖每一行：
# dx = (1/σ)(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))，其中 dx̂ = dout·γ。

# %% answer="batchnorm_backward"
