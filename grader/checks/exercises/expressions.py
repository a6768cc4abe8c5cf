"""Value expressions: the smallest part of a failing one that is still wrong, shown as code.

An expression is the node list of the worker's ``value_graph`` request:
``[op, operand, ...]`` per node, an operand being ``{"node": i}`` (an
earlier node) or ``{"const": c}`` (a plain number), the last node the
output. A random graph of thirty nodes that comes out wrong tells a student
little; the one operation that is wrong, with its numbers, tells them where
to look. So a failed public case is shrunk: the judge tries smaller parts of
the expression (a node as the new output; a node replaced by a leaf holding
its correct value) on the student's ``Value`` through the same request, and
keeps any part that is still wrong, smallest first, until none is smaller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

Nodes = list[list]

#: how many smaller parts the judge asks the student's Value about, at most
BUDGET = 80


@dataclass(frozen=True, order=True)
class Part:
    """The sub-expression rooted at ``root``, in which the nodes of ``cut``
    (never the root) are leaves holding their values."""

    root: int
    cut: frozenset[int] = frozenset()


def _operands(node: list) -> list[int]:
    return [o["node"] for o in node[1:] if "node" in o]


def members(nodes: Nodes, part: Part) -> list[int]:
    """The nodes a part is made of, in their order (operands before their users)."""
    seen, stack = set(), [part.root]
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            if i == part.root or i not in part.cut:
                stack.extend(_operands(nodes[i]))
    return sorted(seen)


def extract(nodes: Nodes, values: list[float], part: Part) -> Nodes:
    """The part as an expression of its own; ``values`` are the correct node values."""
    kept = members(nodes, part)
    number = {old: new for new, old in enumerate(kept)}
    expression = []
    for old in kept:
        op, *operands = nodes[old]
        if op == "leaf" or (old in part.cut and old != part.root):
            expression.append(["leaf", {"const": float(values[old])}])
        else:
            expression.append([op] + [{"node": number[o["node"]]} if "node" in o else dict(o)
                                      for o in operands])
    return expression


def operations(expression: Nodes) -> int:
    return sum(node[0] != "leaf" for node in expression)


def is_relu_at_zero(expression: Nodes) -> bool:
    """One relu of a leaf holding exactly 0: ReLU's kink, and nothing else."""
    return operations(expression) == 1 and expression[-1][0] == "relu" and \
        all(float(node[1]["const"]) == 0.0 for node in expression if node[0] == "leaf")


def shrink(nodes: Nodes, values: list[float], wrong: Callable[[Nodes], bool | None],
           budget: int = BUDGET) -> Nodes:
    """The smallest part of ``nodes`` found on which ``wrong`` holds (greedy, smallest first).

    ``wrong(expression)`` asks the student's code; None means it could not
    be asked (a timeout, a crash): the search stops with what it has.
    """
    current = Part(len(nodes) - 1)
    size = operations(extract(nodes, values, current))
    while budget > 0:
        inner = [i for i in members(nodes, current)
                 if i != current.root and i not in current.cut and nodes[i][0] != "leaf"]
        candidates = {Part(i, current.cut) for i in inner} | \
            {Part(current.root, current.cut | {i}) for i in inner}
        ranked = sorted((operations(extract(nodes, values, part)), part) for part in candidates)
        for smaller, part in ranked:
            if smaller >= size or budget == 0:
                return extract(nodes, values, current)
            budget -= 1
            verdict = wrong(extract(nodes, values, part))
            if verdict is None:
                return extract(nodes, values, current)
            if verdict:
                current, size = part, smaller
                break
        else:
            break
    return extract(nodes, values, current)


# -- as code ---------------------------------------------------------------------------

SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "truediv": 2, "neg": 3, "pow": 4}
ATOM = 5  # a name, a number, a method call


@dataclass(frozen=True)
class Code:
    """An expression as Python code on Values."""

    lines: list[str]  # "t1 = a * b", ..., "out = t1 * t1"
    leaves: dict[str, float]  # a -> its value
    names: list[str]  # per node, how to refer to it: "a", "t1", "out", "(a * b)"

    def __str__(self) -> str:
        return "; ".join(self.lines)

    def leaf_values(self) -> str:
        return ", ".join(f"{name} = {short_number(value)}" for name, value in self.leaves.items())


def short_number(value: float) -> str:
    return f"{value:.4g}"


def as_code(expression: Nodes) -> Code:
    """``out = (a * b) ** 2``; inner nodes used more than once get a name (t1, t2, ...)."""
    uses = [0] * len(expression)
    for node in expression:
        for o in _operands(node):
            uses[o] += 1
    output = len(expression) - 1
    texts: list[tuple[str, int]] = []  # per node: (how an operand refers to it, precedence)
    names, lines, leaves = [], [], {}
    letters = iter("abcdefghijkmnpqrsuvwxyz")
    shared = 0
    for index, (op, *operands) in enumerate(expression):
        if op == "leaf":
            name = next(letters)
            leaves[name] = float(operands[0]["const"])
            texts.append((name, ATOM))
            names.append(name)
            continue
        text, precedence = _render(op, [_operand(o, texts) for o in operands])
        if index == output:
            lines.append(f"out = {text}")
            names.append("out")
        elif uses[index] > 1:
            shared += 1
            lines.append(f"t{shared} = {text}")
            texts.append((f"t{shared}", ATOM))
            names.append(f"t{shared}")
            continue
        else:
            names.append(text if precedence == ATOM else f"({text})")
        texts.append((text, precedence))
    if expression[output][0] == "leaf":
        lines.append(f"out = {names[output]}")
    return Code(lines, leaves, names)


def _operand(operand: dict, texts: list[tuple[str, int]]) -> tuple[str, int]:
    if "node" in operand:
        return texts[operand["node"]]
    value = float(operand["const"])
    return short_number(value), PRECEDENCE["neg"] if value < 0 else ATOM


def _render(op: str, operands: list[tuple[str, int]]) -> tuple[str, int]:
    """Python's own precedence, parenthesised so as to mirror the graph exactly."""
    def wrap(operand: tuple[str, int], needed: int) -> str:
        text, precedence = operand
        return f"({text})" if precedence < needed else text

    if op in ("add", "sub", "mul", "truediv"):
        level = PRECEDENCE[op]
        left, right = operands
        right_text = f"({right[0]})" if right[1] <= level or right[0].startswith("-") \
            else right[0]
        return f"{wrap(left, level)} {SYMBOLS[op]} {right_text}", level
    if op == "pow":
        base, exponent = operands
        return f"{wrap(base, ATOM)} ** {exponent[0]}", PRECEDENCE["pow"]
    if op == "neg":
        return f"-{wrap(operands[0], PRECEDENCE['neg'])}", PRECEDENCE["neg"]
    return f"{wrap(operands[0], ATOM)}.{op}()", ATOM
