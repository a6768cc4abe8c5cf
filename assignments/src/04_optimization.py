# %% [markdown]
# # 04 · Gradient descent, SGD, Adam and Newton's method / 梯度下降、SGD、Adam 与牛顿法
#
# Step functions update the arrays in `params` in place (`p -= ...`) and
# return None; `state` is a dict you keep between steps. Your steps are
# compared with `torch.optim` step for step. Self-checks run the public cases;
# hidden cases are graded later.
#
# 每个更新函数原地修改 `params` 中的数组（`p -= ...`）并返回 None；`state` 是在
# 各步之间保存信息的字典。结果与 `torch.optim` 逐步比较。自检只运行公开用例，
# 隐藏用例之后评分。

# %% [markdown]
# ## sgd_step
# Gradient descent moves against the gradient: p ← p - lr·g. Example:
# p = 1, g = 2, lr = 0.1 gives p = 0.8.
#
# 梯度下降沿梯度的反方向移动：p ← p - lr·g。例：p = 1，g = 2，lr = 0.1，得 p = 0.8。

# %% answer="sgd_step"

# %% [markdown]
# ## sgd_momentum_step
# Momentum keeps a velocity buffer b ← μ·b + (1 - dampening)·g (on the first
# step b = g), then p ← p - lr·b; Nesterov uses g + μ·b instead of b; weight
# decay adds wd·p to g first. Example: μ = 0.9, g = 1 twice gives b = 1, then 1.9.
#
# 动量法维护速度 b ← μ·b + (1 - dampening)·g（第一步 b = g），然后 p ← p - lr·b；
# Nesterov 用 g + μ·b 代替 b；权重衰减先把 wd·p 加到 g 上。例：μ = 0.9，两次 g = 1，
# b 依次为 1 和 1.9。

# %% answer="sgd_momentum_step"

# %% [markdown]
# ## adam_step
# Adam keeps running means of g and g²: m ← β1·m + (1-β1)·g,
# v ← β2·v + (1-β2)·g², corrects their bias by dividing by 1 - βᵗ, and steps
# p ← p - lr·m̂ / (√v̂ + eps). Example: on step 1, m̂ = g and v̂ = g², so the
# step is about lr·sign(g).
#
# Adam 维护 g 和 g² 的滑动平均：m ← β1·m + (1-β1)·g，v ← β2·v + (1-β2)·g²，
# 除以 1 - βᵗ 做偏差校正，然后 p ← p - lr·m̂ / (√v̂ + eps)。例：第一步 m̂ = g，
# v̂ = g²，所以步长约为 lr·sign(g)。

# %% answer="adam_step"

# %% [markdown]
# ## iterate_minibatches
# Shuffle the indices 0..n-1 with the given generator, then cut them into
# batches of `batch_size` (the last may be smaller). Example: n = 5,
# batch_size = 2 gives three batches of sizes 2, 2, 1.
#
# 用给定的随机数生成器打乱下标 0..n-1，再按 `batch_size` 切分（最后一批可以更小）。
# 例：n = 5，batch_size = 2，得到大小为 2、2、1 的三批。

# %% answer="iterate_minibatches"

# %% [markdown]
# ## train
# Mini-batch SGD: for every epoch, for every minibatch, compute
# (loss, grads) = loss_fn(params, xb, yb) and take an `sgd_step`; return each
# epoch's mean minibatch loss. A correct loop makes the loss go down.
#
# 小批量 SGD：每个 epoch 遍历所有小批量，计算 (loss, grads) = loss_fn(params, xb, yb)
# 并执行一次 `sgd_step`；返回每个 epoch 的小批量平均损失。正确的循环会使损失下降。

# %% answer="train"

# %% [markdown]
# ## logistic_newton_step
# For the mean logistic loss, g = Xᵀ(p - y)/n and H = Xᵀ diag(p(1-p)) X / n
# with p = σ(Xw). Newton's step is w - H⁻¹g; solve H·d = g rather than
# inverting H. Example: at w = 0, p = 0.5 everywhere.
#
# 对平均逻辑回归损失，g = Xᵀ(p - y)/n，H = Xᵀ diag(p(1-p)) X / n，其中 p = σ(Xw)。
# 牛顿步为 w - H⁻¹g；应解线性方程 H·d = g，而不是求逆。例：w = 0 时处处 p = 0.5。

# %% answer="logistic_newton_step"
