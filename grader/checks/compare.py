"""Compare one output of a student's function with the reference, and say why not.

The order is fixed: present, type, shape, finite, values. Each step that
fails names its diagnosis from the report contract; a wrong value is then
tested against the signatures of common mistakes (a known misconception's
output, a flipped sign, a constant factor, a transpose, only some rows wrong)
before it is called plain ``wrong_values``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.sandbox.protocol import Opaque, Scalar


@dataclass
class Verdict:
    passed: bool
    diagnosis: list[str] = field(default_factory=list)
    message: str = ""


def compare_output(name: str, actual, expected, *, tolerance: float,
                   context: dict[str, float] | None = None,
                   alternatives: dict[str, Any] | None = None,
                   explain: dict[str, str] | None = None, redact: bool = False) -> Verdict:
    """``expected`` is an array, a float, or a callable that judges the output itself."""
    from grader.checks.core import MISSING

    if actual is MISSING:
        return Verdict(False, ["wrong_type"], f"no {name} was returned")
    if callable(expected):
        return expected(actual)
    if isinstance(expected, np.ndarray):
        return _compare_array(name, actual, expected, tolerance, context or {},
                              alternatives or {}, explain or {}, redact)
    return _compare_scalar(name, actual, float(expected), tolerance, context or {},
                           alternatives or {}, explain or {})


def close(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> np.ndarray:
    """Elementwise: within ``tolerance`` of the value, relative to the array's scale.

    The scale term lets float32 internals pass on elements near zero, where
    a purely relative test would demand digits float32 does not have.
    """
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-6)
    return np.abs(actual - expected) <= tolerance * (np.abs(expected) + scale)


def _as_float_array(value) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=np.float64, copy=True)
    return None


def _compare_array(name, actual, expected, tolerance, context, alternatives, explain, redact):
    if expected.shape == () and _is_number(actual):
        actual = np.array(float(actual))
    array = _as_float_array(actual)
    if array is None:
        return Verdict(False, ["wrong_type"], f"{name} should be a NumPy array of shape "
                       f"{expected.shape}; it is {_type_name(actual)}")
    if array.shape != expected.shape:
        return _shape_verdict(name, array, expected, tolerance, context)
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        where = "" if redact else f" (first at index {tuple(int(i) for i in bad[0])})"
        return Verdict(False, ["nan_or_inf"], f"{name} has {len(bad)} NaN or infinite "
                       f"value(s){where}: a numerically unstable formula (an exp that overflows, "
                       f"a division by zero)?")
    good = close(array, expected, tolerance)
    if good.all():
        return Verdict(True)
    return _value_verdict(name, array, expected, good, tolerance, context, alternatives,
                          explain, redact)


def _compare_scalar(name, actual, expected, tolerance, context, alternatives, explain):
    if isinstance(actual, np.ndarray) and actual.shape == ():
        actual = float(actual)
    if not _is_number(actual):
        return Verdict(False, ["wrong_type"], f"{name} should be a float; it is "
                       f"{_type_name(actual)}")
    value = float(actual)
    if not np.isfinite(value):
        return Verdict(False, ["nan_or_inf"], f"{name} is {value}: a numerically unstable "
                       f"formula (an exp that overflows, a log of 0)?")
    a, e = np.array([value]), np.array([expected])
    if close(a, e, tolerance).all():
        return Verdict(True)
    return _value_verdict(name, a, e, close(a, e, tolerance), tolerance, context,
                          {k: np.array([float(v)]) for k, v in alternatives.items()}, explain,
                          redact=True)


def _is_number(value) -> bool:
    return type(value) in (int, float, Scalar) and type(value) is not bool


def _type_name(value) -> str:
    if isinstance(value, Opaque):
        return f"a {value.type_name}" if value.type_name[:1].isupper() else value.type_name
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{type(value).__name__!s}" if value is not None else "None"


def _shape_verdict(name, array, expected, tolerance, context) -> Verdict:
    got, want = array.shape, expected.shape
    message = f"{name} has shape {got} but should have shape {want}"
    if got == want[::-1] and array.ndim == 2:
        if close(array.T, expected, tolerance).all():
            return Verdict(False, ["shape_mismatch", "transposed"],
                           f"{message}: it is the transpose of the right answer")
        return Verdict(False, ["shape_mismatch", "transposed"],
                       f"{message}: the axes are swapped (transposed?)")
    if array.ndim == expected.ndim + 1 and got[1:] == want and got[0] > 1:
        for reduce, how in ((np.sum, "sum"), (np.mean, "mean")):
            if close(reduce(array, axis=0), expected, tolerance).all():
                return Verdict(False, ["shape_mismatch", "not_reduced"],
                               f"{message}: it holds one row per example; the {how} over the "
                               f"batch axis is the answer")
        return Verdict(False, ["shape_mismatch", "not_reduced"],
                       f"{message}: it has an extra leading (batch) axis that was not reduced")
    if np.squeeze(array).shape == np.squeeze(expected).shape:
        return Verdict(False, ["shape_mismatch"], f"{message}: an extra axis of size 1 "
                       f"(keepdims=True, or a column vector where a 1-D array is due)")
    return Verdict(False, ["shape_mismatch"], message)


def _value_verdict(name, array, expected, good, tolerance, context, alternatives, explain,
                   redact) -> Verdict:
    error = float(np.max(np.abs(array - expected)) / max(np.max(np.abs(expected)), 1e-12))
    numbers = f" (largest error {error:.2g} of the expected magnitude)"
    for slug, alternative in alternatives.items():
        if isinstance(alternative, np.ndarray) and alternative.shape == array.shape and \
                close(array, alternative, tolerance).all():
            text = explain.get(slug, "")
            return Verdict(False, [f"misconception:{slug}"], f"{name} is wrong: {text}".strip())
    if close(-array, expected, tolerance).all():
        return Verdict(False, ["sign_flipped"], f"{name} has the wrong sign everywhere: "
                       f"check the sign of each local derivative")
    factor = _constant_factor(array, expected)
    if factor is not None and close(array, factor * expected, tolerance).all():
        return Verdict(False, ["scaled"], f"{name} is the right answer times "
                       f"{_name_factor(factor, context)}: a missing or extra factor")
    if array.ndim == 2 and array.shape[0] == array.shape[1] and \
            close(array.T, expected, tolerance).all():
        return Verdict(False, ["transposed"], f"{name} is the transpose of the right answer")
    where = _localise(good)
    if where and not redact:
        return Verdict(False, ["wrong_values"], f"{name} is wrong only {where}{numbers}")
    if where:
        return Verdict(False, ["wrong_values"], f"{name} is wrong only {where}")
    return Verdict(False, ["wrong_values"], f"{name} has wrong values{'' if redact else numbers}")


def _constant_factor(array, expected) -> float | None:
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None
    factor = float(np.sum(array * expected)) / denominator
    return factor if np.isfinite(factor) and abs(factor) > 1e-12 else None


def _name_factor(factor: float, context: dict[str, float]) -> str:
    candidates = {"2": 2.0, "1/2": 0.5, "-2": -2.0, "-1/2": -0.5}
    for size_name, size in context.items():
        candidates[size_name] = size
        candidates[f"1/{size_name}"] = 1.0 / size
    for label, value in candidates.items():
        if abs(factor - value) <= 1e-3 * abs(value):
            sizes = ", ".join(f"{k} = {v:g}" for k, v in context.items() if k in label)
            return f"{label}" + (f" ({sizes})" if sizes else "")
    return f"about {factor:.3g}"


def _localise(good: np.ndarray) -> str:
    """Where the wrong elements are, when they are only some rows, columns or channels."""
    bad = ~good
    if good.ndim == 0 or bad.all():
        return ""
    axis_names = {2: ("rows", "columns"), 4: ("examples", "channels", "rows", "columns")}
    names = axis_names.get(good.ndim, tuple(f"axis-{i} positions" for i in range(good.ndim)))
    for axis, label in enumerate(names):
        other = tuple(i for i in range(good.ndim) if i != axis)
        wrong_slices = bad.any(axis=other) if other else bad
        whole_slices = bad.all(axis=other) if other else bad
        if wrong_slices.sum() < good.shape[axis] and np.array_equal(wrong_slices, whole_slices):
            indices = [int(i) for i in np.flatnonzero(wrong_slices)]
            shown = ", ".join(map(str, indices[:6])) + (", ..." if len(indices) > 6 else "")
            return f"in {label} {shown} (of {good.shape[axis]})"
    if good.ndim == 1 or bad.mean() < 0.5:
        count = int(bad.sum())
        return f"at {count} of {good.size} positions"
    return ""
