# %% [markdown]
# # 02 · The chain rule and computational graphs / 链式法则与计算图
#
# First you apply the chain rule by hand, then you build `Value`, a tiny
# scalar reverse-mode autodiff engine. Python and NumPy only. The self-check
# cells run the public cases; hidden cases are graded later.
#
# 先手工应用链式法则，再实现 `Value`：一个极小的标量反向模式自动微分引擎。
# 只能使用 Python 和 NumPy。自检单元格只运行公开用例，隐藏用例之后评分。

# %% [markdown]
# ## composite_grad
# Chain rule: (f∘g)'(x) = f'(g(x))·g'(x). For f(x) = exp(sin(x²)) the three
# layers give exp(sin(x²))·cos(x²)·2x. Example: at x = 0 the derivative is 0.
#
# 链式法则：(f∘g)'(x) = f'(g(x))·g'(x)。f(x) = exp(sin(x²)) 三层相乘得
# exp(sin(x²))·cos(x²)·2x。例：x = 0 处导数为 0。

# %% answer="composite_grad"

# %% [markdown]
# ## neuron_grads
# y = σ(z) with z = w·x + b. Since dy/dz = y(1 - y), the chain rule gives
# dy/dx = y(1-y)·w, dy/dw = y(1-y)·x, dy/db = y(1-y). Example: w = x = 0,
# b = 0 gives y = 0.5 and dy/db = 0.25.
#
# y = σ(z)，z = w·x + b。由 dy/dz = y(1 - y)，链式法则给出 dy/dx = y(1-y)·w，
# dy/dw = y(1-y)·x，dy/db = y(1-y)。例：w = x = 0、b = 0 时 y = 0.5，dy/db = 0.25。

# %% answer="neuron_grads"

# %% [markdown]
# ## Value
# Each `Value` remembers its inputs and how to pass a gradient back to them.
# `backward()` orders the graph topologically and visits nodes from the
# output back, adding (`+=`) each path's contribution. Example: for
# c = a * b with a = 2, b = 3, c.backward() gives a.grad = 3, b.grad = 2.
#
# 每个 `Value` 记住它的输入以及如何把梯度传回去。`backward()` 对计算图做拓扑排序，
# 从输出往回访问结点，把每条路径的贡献累加（`+=`）。例：c = a * b，a = 2，b = 3，
# 调用 c.backward() 后 a.grad = 3，b.grad = 2。

# %% answer="Value"
