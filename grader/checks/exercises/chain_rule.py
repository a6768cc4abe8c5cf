"""02_chain_rule: the chain rule by hand, and a scalar reverse-mode autodiff Value.

``Value`` is graded on expression graphs that the judge draws: the worker
builds each with the student's class and runs backward once; the judge
builds the same expression in torch and compares every node's data and grad.
"""
from __future__ import annotations

import json
import math
import operator
from functools import lru_cache

import numpy as np
import torch

from grader.checks.ahead import Request
from grader.checks.compare import close
from grader.checks.core import CaseResult, Check, Draw, PreparedCase, Student, check
from grader.checks.exercises import expressions
from grader.checks.exercises.derivatives import RELU_AT_ZERO_TEXT
from grader.checks.torchref import elementwise_grad, leaf, numpy
from grader.i18n import N_, _
from grader.sandbox import protocol
from grader.sandbox.runner import StudentError

A = "02_chain_rule"


@check(A, points=20)
class composite_grad(Check):
    misconception_texts = {
        "missing_inner_derivative": N_("the chain rule takes the derivative of every layer of "
                                       "exp(sin(x**2)), the innermost x**2 included."),
    }

    def cases(self, draw: Draw):
        n, d = draw.dims(2)
        c, h, w = draw.dims(3, low=2, high=4)
        for label, shape in ((N_("vector"), (int(draw.integers(3, 9)),)), (N_("matrix"), (n, d)),
                             (N_("3-d array"), (c, h, w))):
            yield label, dict(x=draw.normal(*shape, scale=1.2))

    def reference(self, x):
        return {"out": elementwise_grad(lambda t: torch.exp(torch.sin(t ** 2)), x)}

    def misconceptions(self, x):
        return {"missing_inner_derivative": {"out": np.exp(np.sin(x ** 2)) * np.cos(x ** 2)}}


@check(A, points=30)
class neuron_grads(Check):
    """y = sigmoid(w . x + b): dy/dx, dy/dw (D,) and dy/db (a float)."""

    outputs = ("dx", "dw", "db")
    misconception_texts = {
        "dx_dw_swapped": N_("dy/dx and dy/dw look swapped: an input's derivative is scaled by "
                            "its weight, a weight's by its input."),
    }

    def cases(self, draw: Draw):
        for label, size, scale in ((N_("D = 1"), 1, 1.0),
                                   (N_("small D"), int(draw.integers(2, 5)), 1.0),
                                   (N_("larger D"), int(draw.integers(12, 33)), 0.4)):
            yield label, dict(x=draw.normal(size, scale=scale), w=draw.normal(size, scale=scale),
                              b=round(float(draw.normal(scale=1.0)), 4))
        # w . x + b far out (|z| 4..7), where the gradients are small but not negligible
        size = int(draw.integers(3, 8))
        x, w = draw.normal(size), draw.normal(size)
        z = float(draw.uniform(4.0, 7.0)) * draw.choice([-1.0, 1.0])
        yield N_("nearly saturated neuron"), dict(x=x, w=w, b=round(z - float(w @ x), 4))

    def reference(self, x, w, b):
        xt, wt, bt = leaf(x), leaf(w), leaf(b)
        dx, dw, db = torch.autograd.grad(torch.sigmoid(wt @ xt + bt), (xt, wt, bt))
        return {"dx": numpy(dx), "dw": numpy(dw), "db": float(db)}

    def misconceptions(self, x, w, b):
        right = self.reference(x, w, b)
        return {"dx_dw_swapped": {"dx": right["dw"], "dw": right["dx"]}}

    def context(self, x, w, b):
        return {"D": float(len(x))}


# -- Value: expression graphs -------------------------------------------------------

BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "truediv": operator.truediv, "pow": operator.pow}


def _sigmoid(v: float) -> float:
    e = math.exp(-abs(v))
    return (1.0 if v >= 0 else e) / (1.0 + e)


UNARY_FORWARD = {"neg": operator.neg, "exp": math.exp, "log": math.log, "tanh": math.tanh,
                 "relu": lambda v: v if v > 0 else 0.0, "sigmoid": _sigmoid}


def forward_value(op: str, args: list[float]) -> float:
    return float(BINARY[op](*args) if op in BINARY else UNARY_FORWARD[op](args[0]))


def local_derivatives(op: str, args: list[float], out: float) -> list[float]:
    """d out / d operand, for each operand in order (a constant's is ignored)."""
    if op == "add":
        return [1.0, 1.0]
    if op == "sub":
        return [1.0, -1.0]
    if op == "mul":
        return [args[1], args[0]]
    if op == "truediv":
        return [1.0 / args[1], -args[0] / args[1] ** 2]
    if op == "pow":
        return [args[1] * args[0] ** (args[1] - 1), 0.0]
    if op == "neg":
        return [-1.0]
    if op == "exp":
        return [out]
    if op == "log":
        return [1.0 / args[0]]
    if op == "tanh":
        return [1.0 - out ** 2]
    if op == "relu":
        return [1.0 if args[0] > 0 else 0.0]
    return [out * (1.0 - out)]  # sigmoid


class ReverseMode:
    """A small reverse-mode evaluator of a node list, correct or broken on purpose.

    ``accumulate=False`` assigns each contribution instead of adding it;
    ``topological=False`` has each node push its gradient and recurse into
    its inputs at once, once per path (backward without a topological order).
    Inputs are visited in operand order, each input once per node, as a set
    of children would.
    """

    def __init__(self, nodes: list):
        self.nodes = nodes
        self.data: list[float] = []
        self.operands: list[list[int | None]] = []
        self.locals: list[list[float]] = []
        for op, *operands in nodes:
            args = [self.data[o["node"]] if "node" in o else float(o["const"]) for o in operands]
            self.operands.append([o.get("node") for o in operands])
            if op == "leaf":
                self.data.append(args[0])
                self.locals.append([])
                continue
            out = forward_value(op, args)
            self.data.append(out)
            self.locals.append(local_derivatives(op, args, out))

    def grads(self, accumulate: bool = True, topological: bool = True) -> list[float]:
        grads = [0.0] * len(self.nodes)
        output = len(self.nodes) - 1
        grads[output] = 1.0

        def push(i: int) -> None:
            for child, local in zip(self.operands[i], self.locals[i]):
                if child is None:
                    continue
                grads[child] = grads[child] + local * grads[i] if accumulate else \
                    local * grads[i]

        if topological:  # index order is a topological order: operands come first
            for i in reversed(sorted(self.reachable(output))):
                push(i)
            return grads
        stack = [output]
        while stack:  # depth first, no visited set: a node is pushed once per path
            i = stack.pop()
            push(i)
            stack.extend(reversed(list(dict.fromkeys(c for c in self.operands[i]
                                                     if c is not None))))
        return grads

    def reachable(self, output: int) -> set[int]:
        seen, stack = set(), [output]
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(c for c in self.operands[i] if c is not None)
        return seen

    def path_count(self) -> int:
        """How many visits a backward without a topological order makes."""
        paths = [0] * len(self.nodes)
        paths[-1] = 1
        for i in reversed(range(len(self.nodes))):
            for child in dict.fromkeys(c for c in self.operands[i] if c is not None):
                paths[child] += paths[i]
        return sum(paths)


class GraphBuilder:
    """Draws an expression node by node, keeping every value in a safe domain."""

    LIMIT = 30.0  # no intermediate value above this magnitude
    EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5, -0.5, -2.0)  # floats: an int operand is a node

    def __init__(self, draw: Draw):
        self.draw, self.nodes, self.values, self.used = draw, [], [], []

    def leaf(self, value: float) -> int:
        self.nodes.append(["leaf", {"const": float(value)}])
        self.values.append(float(value))
        self.used.append(0)
        return len(self.nodes) - 1

    def apply(self, op: str, *operands) -> int | None:
        """Append op(operands), ints being nodes and floats constants; None if unsafe."""
        args = [self.values[o] if isinstance(o, int) else float(o) for o in operands]
        if not self._safe(op, args):
            return None
        value = forward_value(op, args)
        if not math.isfinite(value) or abs(value) > self.LIMIT:
            return None
        self.nodes.append([op] + [{"node": o} if isinstance(o, int) else {"const": float(o)}
                                  for o in operands])
        self.values.append(value)
        self.used.append(0)
        for o in operands:
            if isinstance(o, int):
                self.used[o] += 1
        return len(self.nodes) - 1

    @staticmethod
    def _safe(op: str, args: list[float]) -> bool:
        if op == "log":
            return args[0] > 0.1
        if op == "exp":
            return args[0] < 3.0
        if op == "truediv":
            return abs(args[1]) > 0.3
        if op == "pow":
            base, p = args
            if p != int(p) and base < 0.2:
                return False
            return p > 0 or abs(base) > 0.3
        return True

    def pick(self) -> int:
        """A node: one nothing uses yet (so few dangle), a recent one (depth), or
        any one (sharing)."""
        chance = self.draw.rng.random()
        unused = [i for i, count in enumerate(self.used) if count == 0]
        if chance < 0.3 and unused:
            return self.draw.choice(unused)
        if chance < 0.6:
            return len(self.nodes) - 1 - int(self.draw.integers(0, min(3, len(self.nodes))))
        return int(self.draw.integers(0, len(self.nodes)))

    def constant(self) -> float:
        value = round(float(self.draw.uniform(0.5, 3.0)), 2)
        return value if self.draw.rng.random() < 0.6 else -value

    def grow(self, ops: list[str]) -> bool:
        """One more node from ``ops``, operands drawn; retried until safe."""
        for _ in range(100):
            op = self.draw.choice(ops)
            a = self.pick()
            if op == "pow":
                operands = (a, self.draw.choice(self.EXPONENTS))
            elif op in BINARY:
                side = self.draw.rng.random()
                if side < 0.2:
                    operands = (self.constant(), a)
                elif side < 0.4:
                    operands = (a, self.constant())
                else:
                    operands = (a, self.pick())
            else:
                operands = (a,)
            if self.apply(op, *operands) is not None:
                return True
        return False

    def finish(self) -> list:
        """Sum every node nothing uses yet, so that all of them reach the output."""
        while True:
            unused = [i for i, count in enumerate(self.used) if count == 0]
            if len(unused) <= 1:
                return self.nodes
            if self.apply("add", unused[-2], unused[-1]) is None:
                self.apply("mul", unused[-2], 0.1)  # too large a sum: shrink one side first


def draw_graph(draw: Draw, ops: list[str], size: int, positive: bool = False,
               max_paths: int = 4000) -> list:
    """An expression of about ``size`` nodes over ``ops`` (and +), with shared sub-expressions."""
    while True:
        builder = GraphBuilder(draw)
        for _ in range(int(draw.integers(2, 4))):
            magnitude = round(float(draw.uniform(0.4, 2.0)), 3)
            builder.leaf(magnitude if positive or draw.rng.random() < 0.6 else -magnitude)
        while len(builder.nodes) < size and builder.grow(ops):
            pass
        nodes = builder.finish()
        uses = np.bincount([o["node"] for node in nodes for o in node[1:] if "node" in o])
        shared = np.sum(uses > 1) >= len(nodes) // 6 and uses.max() >= 3
        if len(nodes) >= size and shared and ReverseMode(nodes).path_count() <= max_paths:
            return nodes


def relu_graph(draw: Draw) -> list:
    """ReLU on inputs of both signs, and on one exactly 0 (whose gradient is 0)."""
    builder = GraphBuilder(draw)
    x, y = builder.leaf(round(float(draw.uniform(0.5, 2)), 3)), \
        builder.leaf(-round(float(draw.uniform(0.5, 2)), 3))
    positive, negative = builder.apply("relu", x), builder.apply("relu", y)
    zero = builder.apply("relu", builder.apply("add", x, -builder.values[x]))
    mixed = builder.apply("add", x, y)
    top = builder.apply("relu", builder.apply("add", builder.apply("relu", mixed), positive))
    for _ in range(4):
        builder.grow(["relu", "add"])
    builder.apply("add", builder.apply("add", top, negative), zero)
    return builder.finish()


def shared_graph(draw: Draw) -> list:
    """A node reached by two equal paths, and nodes used twice by one operation.

    Chosen so that the two classic mistakes give the same wrong grads
    whatever order a set of children is visited in, and can be named.
    """
    c = round(float(draw.uniform(0.5, 2.0)), 2)
    return [["leaf", {"const": round(float(draw.uniform(0.5, 1.5)), 3)}],
            ["leaf", {"const": -round(float(draw.uniform(0.5, 1.5)), 3)}],
            ["mul", {"node": 0}, {"node": 1}],          # a = x * y
            ["mul", {"node": 2}, {"const": c}],         # b = a * c
            ["mul", {"const": c}, {"node": 2}],         # b' = c * a
            ["add", {"node": 3}, {"node": 4}],          # d = b + b'
            ["mul", {"node": 5}, {"node": 5}],          # e = d * d
            ["add", {"node": 6}, {"node": 6}]]          # out = e + e


def torch_graph(nodes: list) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Every node's value and d output / d node, by torch.autograd in float64."""
    return _torch_graph(json.dumps(nodes))  # a class's failures shrink through the same parts


@lru_cache(maxsize=4096)
def _torch_graph(key: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    tensors = []
    for op, *operands in json.loads(key):
        args = [tensors[o["node"]] if "node" in o else float(o["const"]) for o in operands]
        if op == "leaf":
            tensor = torch.tensor(args[0], dtype=torch.float64, requires_grad=True)
        else:
            tensor = BINARY[op](*args) if op in BINARY else \
                -args[0] if op == "neg" else getattr(torch, op)(args[0])
            tensor.retain_grad()
        tensors.append(tensor)
    tensors[-1].backward()
    return tuple(float(t.detach()) for t in tensors), \
        tuple(0.0 if t.grad is None else float(t.grad) for t in tensors)


VALUE_FAMILIES = {
    N_("+ with numbers on either side"): ["add"],
    N_("-, unary - and numbers on either side"): ["sub", "neg", "sub", "add"],
    N_("* with numbers on either side"): ["mul", "mul", "add"],
    N_("/ with numbers on either side"): ["truediv", "truediv", "add"],
    N_("** a number"): ["pow", "pow", "add"],
    N_("exp and log"): ["exp", "log", "add"],
    N_("tanh and sigmoid"): ["tanh", "sigmoid", "add", "mul"],
}
ALL_OPS = ["add", "sub", "mul", "truediv", "pow", "neg", "exp", "log", "tanh", "relu", "sigmoid"]


@check(A, points=50)
class Value(Check):
    """Graded per node: the forward values, the leaves' grads, the other nodes' grads.

    A failed public case is shrunk to the smallest part of its expression that
    is still wrong (see ``expressions``), and the feedback shows that part as
    code, with the student's numbers and torch's.
    """

    outputs = ("data", "leaf grads", "inner grads")
    misconception_texts = {
        "grad_assigned_not_accumulated": N_("a node used more than once gets a contribution to "
                                            "its gradient from every use, and these add up; here "
                                            "a later contribution replaced the earlier ones."),
        "no_topological_order": N_("backward passed a node's gradient on before every use of "
                                   "that node had contributed to it: a node may only be "
                                   "processed after all the nodes that use it (reverse "
                                   "topological order)."),
        "relu_grad_at_zero": RELU_AT_ZERO_TEXT,
    }
    #: the largest shrunk part still shown: beyond it, code says no more than the numbers
    shown_operations = 8

    def cases(self, draw: Draw):
        for label, ops in VALUE_FAMILIES.items():
            yield label, dict(nodes=draw_graph(draw, ops, int(draw.integers(10, 14)),
                                               positive=label in ("exp and log", "** a number")))
        yield N_("relu, at 0 too"), dict(nodes=relu_graph(draw))
        yield N_("shared sub-expressions"), dict(nodes=shared_graph(draw), names_mistakes=True)
        for label in (N_("random expression"), N_("another random expression")):
            yield label, dict(nodes=draw_graph(draw, ALL_OPS, int(draw.integers(20, 32))))

    def reference(self, nodes, names_mistakes=False):
        data, grads = torch_graph(nodes)
        return self._split(nodes, data, grads)

    def misconceptions(self, nodes, names_mistakes=False):
        """Only on the graph where the mistakes' grads do not depend on the order in
        which a set of children is visited; elsewhere a match could be chance
        (small integer grads coincide easily) and would name the wrong mistake."""
        if not names_mistakes:
            return {}
        evaluator = ReverseMode(nodes)
        wrong = {"grad_assigned_not_accumulated": evaluator.grads(accumulate=False),
                 "no_topological_order": evaluator.grads(topological=False)}
        return {slug: {k: v for k, v in self._split(nodes, evaluator.data, grads).items()
                       if k != "data"} for slug, grads in wrong.items()}

    @staticmethod
    def _split(nodes, data, grads) -> dict[str, np.ndarray]:
        is_leaf = np.array([node[0] == "leaf" for node in nodes])
        grads = np.array(grads, dtype=np.float64)
        return {"data": np.array(data, dtype=np.float64), "leaf grads": grads[is_leaf],
                "inner grads": grads[~is_leaf]}

    def calls(self, nodes, names_mistakes=False):
        return [Request("value_graph", None, lambda: {"op": "value_graph", "nodes": nodes})]

    def run(self, student: Student, nodes, names_mistakes=False):
        student.current = "Value"
        reply = student.send(*self.calls(nodes))
        try:
            data = [protocol.decode(v) for v in reply["data"]]
            grads = [protocol.decode(v) for v in reply["grad"]]
        except (KeyError, TypeError, protocol.ProtocolError) as error:
            raise StudentError("bad_output", _("the worker sent a malformed reply ({error})").format(
                error=error)) from None
        for what, values in (("data", data), ("grad", grads)):
            for index, value in enumerate(values):
                if type(value) not in (int, float, protocol.Scalar):
                    raise NotAFloat(_("a Value's .{attribute} should be a float; after "
                                      "backward(), that of node {index} ({op}) is {type}").format(
                        attribute=what, index=index, op=nodes[index][0],
                        type=type(value).__name__))
        return self._split(nodes, data, grads)

    def grade_case(self, sandbox, case: PreparedCase) -> CaseResult:
        try:
            result = super().grade_case(sandbox, case)
        except NotAFloat as error:
            return CaseResult(case.name, case.public, 0.0, ["wrong_type"], str(error))
        named = any(code.startswith("misconception:") for code in result.diagnosis)
        if case.public and not result.passed and not named and \
                result.error_kind in (None, "exception"):
            self.explain_smallest_part(sandbox, case, result)
        return result

    # -- the smallest wrong part of a failed expression ------------------------------

    def explain_smallest_part(self, sandbox, case: PreparedCase, result: CaseResult) -> None:
        """Add the smallest still-wrong part of the case's expression to its feedback."""
        nodes = case.params["nodes"]
        part = expressions.shrink(nodes, torch_graph(nodes)[0],
                                  lambda e: self._is_wrong(e, self._ask(sandbox, e)))
        answer = self._ask(sandbox, part)
        if expressions.operations(part) > self.shown_operations or \
                self._is_wrong(part, answer) is not True:
            return
        code = expressions.as_code(part)
        where = _("the smallest part of this expression that is still wrong is {code} "
                  "(with {leaves})").format(code=code, leaves=code.leaf_values())
        if isinstance(answer, StudentError):
            what = _("your Value raised {error} there").format(
                error=answer.type_name or answer.kind)
        else:
            what = self._differences(part, code, *answer)
        result.feedback += _("; {where}: {what}").format(where=where, what=what)
        if expressions.is_relu_at_zero(part):
            result.diagnosis = ["misconception:relu_grad_at_zero"] + result.diagnosis
            result.feedback += _("; {text}").format(text=_(RELU_AT_ZERO_TEXT))

    def _ask(self, sandbox, nodes) -> tuple[list, list] | StudentError:
        """The student's data and grad of every node, or the error it raised."""
        student = Student(sandbox, redact=False)
        try:
            actual = self.run(student, nodes)
        except StudentError as error:
            return error
        except NotAFloat as error:
            return StudentError("wrong_type", str(error))
        is_leaf = np.array([node[0] == "leaf" for node in nodes])
        grads = np.zeros(len(nodes))
        grads[is_leaf], grads[~is_leaf] = actual["leaf grads"], actual["inner grads"]
        return list(actual["data"]), list(grads)

    def _is_wrong(self, nodes, answer: tuple[list, list] | StudentError) -> bool | None:
        """Whether the student's answer on an expression is wrong; None: no answer came."""
        if isinstance(answer, StudentError):
            return True if answer.kind in ("exception", "wrong_type") else None
        data, grads = torch_graph(nodes)
        return not (close(np.array(answer[0]), np.array(data), self.tolerance).all() and
                    close(np.array(answer[1]), np.array(grads), self.tolerance).all())

    def _differences(self, part, code, data: list, grads: list) -> str:
        """'a.grad is 3.4 (torch: 2.6)', for each number of the part that is wrong."""
        right_data, right_grads = torch_graph(part)
        wrong = []
        for attribute, yours, right in (("data", data, right_data), ("grad", grads, right_grads)):
            good = close(np.array(yours, dtype=np.float64), np.array(right), self.tolerance)
            wrong += [_("{node}.{attribute} is {yours} (torch: {right})").format(
                node=code.names[i], attribute=attribute, yours=expressions.short_number(yours[i]),
                right=expressions.short_number(right[i])) for i in np.flatnonzero(~good)]
        shown = wrong[:4] + (["..."] if len(wrong) > 4 else [])
        return _(", ").join(shown)


class NotAFloat(Exception):
    """A node's .data or .grad came back as something other than a number."""
