# %% [markdown]
# # 01 · Derivatives, partial derivatives and gradients / 导数、偏导数与梯度
#
# You will estimate derivatives numerically with finite differences, derive a
# few common derivatives by hand, and use the first to check the second. Use
# Python and NumPy only; arrays are float64. Each exercise has a self-check
# cell: it runs the public cases on your code. Hidden cases are graded later.
#
# 你将用有限差分数值地估计导数，手工推导几个常见函数的导数，并用前者检验后者。
# 只能使用 Python 和 NumPy；数组均为 float64。每个练习后有一个自检单元格，
# 它只运行公开测试用例；隐藏用例会在之后评分。

# %% [markdown]
# ## numerical_derivative
# The derivative is the limit of a slope. The **central difference**
# `(f(x+h) - f(x-h)) / (2h)` has error O(h²), much smaller than the one-sided
# `(f(x+h) - f(x)) / h`. Example: f(x) = x², x = 3, h = 0.1 gives
# (9.61 - 8.41) / 0.2 = 6.0 = f'(3).
#
# 导数是斜率的极限。**中心差分** `(f(x+h) - f(x-h)) / (2h)` 的误差是 O(h²)，
# 比单侧差分小得多。例：f(x) = x²，x = 3，h = 0.1，得 (9.61 - 8.41) / 0.2 = 6.0。

# %% answer="numerical_derivative"

# %% [markdown]
# ## numerical_gradient
# For f from an array to a number, the gradient has one partial derivative per
# element: nudge one element by ±h, keep the others fixed. Put every element
# back exactly as it was. Example: f(x) = sum(x²) at x = [1, 2] gives [2, 4].
#
# 对从数组到标量的函数，梯度的每个元素是一个偏导数：只把一个元素改变 ±h，
# 其余不变，之后把它恢复成原值。例：f(x) = sum(x²) 在 x = [1, 2] 处梯度为 [2, 4]。

# %% answer="numerical_gradient"

# %% [markdown]
# ## sigmoid_grad
# σ(x) = 1 / (1 + e^(-x)) has σ'(x) = σ(x)(1 - σ(x)). Example: σ(0) = 0.5, so
# σ'(0) = 0.25. Compute σ stably for large |x|.
#
# σ(x) = 1 / (1 + e^(-x)) 的导数是 σ(x)(1 - σ(x))。例：σ(0) = 0.5，σ'(0) = 0.25。
# |x| 很大时要数值稳定。

# %% answer="sigmoid_grad"

# %% [markdown]
# ## tanh_grad
# d/dx tanh(x) = 1 - tanh(x)². Example: at x = 0 the slope is 1.
#
# tanh 的导数是 1 - tanh(x)²。例：x = 0 处斜率为 1。

# %% answer="tanh_grad"

# %% [markdown]
# ## softplus_grad
# softplus(x) = log(1 + e^x) has derivative σ(x). Written naively, e^x
# overflows at x = 1000; it must stay finite for x in [-1000, 1000].
# Example: softplus'(0) = 0.5.
#
# softplus(x) = log(1 + e^x) 的导数就是 σ(x)。直接计算 e^x 在 x = 1000 时会溢出，
# 结果须在 [-1000, 1000] 内保持有限。例：softplus'(0) = 0.5。

# %% answer="softplus_grad"

# %% [markdown]
# ## relu_grad
# ReLU(x) = max(0, x) has slope 1 for x > 0 and 0 for x < 0; at exactly 0 we
# use 0, as torch does. Example: relu_grad([-1, 0, 2]) = [0, 0, 1].
#
# ReLU 在 x > 0 时斜率为 1，x < 0 时为 0；在 x = 0 处按 torch 的约定取 0。
# 例：relu_grad([-1, 0, 2]) = [0, 0, 1]。

# %% answer="relu_grad"

# %% [markdown]
# ## f_xy_partials
# A partial derivative treats the other variables as constants. For
# f(x, y) = x²y + sin(xy): ∂f/∂x = 2xy + y·cos(xy), ∂f/∂y = x² + x·cos(xy).
# Example: at (1, 0), ∂f/∂x = 0 and ∂f/∂y = 2.
#
# 偏导数把其他变量看作常数。对 f(x, y) = x²y + sin(xy)：∂f/∂x = 2xy + y·cos(xy)，
# ∂f/∂y = x² + x·cos(xy)。例：在 (1, 0) 处 ∂f/∂x = 0，∂f/∂y = 2。

# %% answer="f_xy_partials"

# %% [markdown]
# ## gradient_check
# Compare an analytic gradient a with a numerical one n by the relative error
# max |a - n| / max(1e-8, |a| + |n|): around 1e-7 or less means they agree.
# Example: a = 2.0, n = 2.000001 gives about 2.5e-7.
#
# 用相对误差 max |a - n| / max(1e-8, |a| + |n|) 比较解析梯度 a 与数值梯度 n：
# 约 1e-7 或更小说明二者一致。例：a = 2.0，n = 2.000001，误差约 2.5e-7。

# %% answer="gradient_check"
