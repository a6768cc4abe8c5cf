"""Compare one output of a student's function with the reference, and say why not.

The order is fixed: present, type, shape, finite, values. Each step that
fails names its diagnosis from the report contract; a wrong value is then
tested against the signatures of common mistakes (a known misconception's
output, a flipped sign, a constant factor, a transpose, only some rows wrong)
before it is called plain ``wrong_values``.

A misconception is given either as the exact output of the classic wrong
version, or as a ``Recogniser``: a property of the output that no single
array pins down ("right except where x is exactly 0", "the gradient split
differently among tied maxima").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.i18n import _
from grader.sandbox.protocol import Opaque, Scalar


#: ``recognise(actual, expected, tolerance)``: whether ``actual`` (already of the
#: expected shape, finite, and wrong) is the misconception.
Recogniser = Callable[[np.ndarray, np.ndarray, float], bool]


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
        return Verdict(False, ["wrong_type"], _("no {name} was returned").format(name=name))
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


def wrong_only_where(mask: np.ndarray) -> Recogniser:
    """Recognises an output that is right everywhere but at some of ``mask``'s positions.

    For a non-differentiable point (ReLU at exactly 0): a result that is
    wrong there and only there used another sub-gradient than the contract's.
    """
    def recognise(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
        bad = ~close(actual, expected, tolerance)
        return bool(bad.any()) and not bool((bad & ~mask).any())
    return recognise


def _is_alternative(alternative, array: np.ndarray, expected: np.ndarray,
                    tolerance: float) -> bool:
    if callable(alternative):
        return bool(alternative(array, expected, tolerance))
    return isinstance(alternative, np.ndarray) and alternative.shape == array.shape and \
        bool(close(array, alternative, tolerance).all())


def _as_float_array(value) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=np.float64, copy=True)
    return None


def _compare_array(name, actual, expected, tolerance, context, alternatives, explain, redact):
    if expected.shape == () and _is_number(actual):
        actual = np.array(float(actual))
    array = _as_float_array(actual)
    if array is None:
        return Verdict(False, ["wrong_type"], _("{name} should be a NumPy array of shape "
                                                "{shape}; it is {what}").format(
            name=name, shape=expected.shape, what=_type_name(actual)))
    if array.shape != expected.shape:
        return _shape_verdict(name, array, expected, tolerance, context)
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        where = "" if redact else _(" (first at index {index})").format(
            index=tuple(int(i) for i in bad[0]))
        return Verdict(False, ["nan_or_inf"], _(
            "{name} has {count} NaN or infinite value(s){where}: a numerically unstable formula "
            "(an exp that overflows, a division by zero)?").format(name=name, count=len(bad),
                                                                   where=where))
    good = close(array, expected, tolerance)
    if good.all():
        return Verdict(True)
    return _value_verdict(name, array, expected, good, tolerance, context, alternatives,
                          explain, redact)


def _compare_scalar(name, actual, expected, tolerance, context, alternatives, explain):
    if isinstance(actual, np.ndarray) and actual.shape == ():
        actual = float(actual)
    if not _is_number(actual):
        message = _("{name} should be a float; it is {what}").format(name=name,
                                                                     what=_type_name(actual))
        reduced = _per_example(actual, expected, tolerance)
        if reduced == "mean":
            return Verdict(False, ["wrong_type", "not_reduced"], _(
                "{message}, one value per example: their mean over the batch is the "
                "answer").format(message=message))
        if reduced == "sum":
            return Verdict(False, ["wrong_type", "not_reduced"], _(
                "{message}, one value per example: their sum over the batch is the "
                "answer").format(message=message))
        return Verdict(False, ["wrong_type"], message)
    value = float(actual)
    if not np.isfinite(value):
        return Verdict(False, ["nan_or_inf"], _(
            "{name} is {value}: a numerically unstable formula (an exp that overflows, "
            "a log of 0)?").format(name=name, value=value))
    a, e = np.array([value]), np.array([expected])
    if close(a, e, tolerance).all():
        return Verdict(True)
    return _value_verdict(name, a, e, close(a, e, tolerance), tolerance, context,
                          {k: v if callable(v) else np.array([float(v)])
                           for k, v in alternatives.items()}, explain, redact=True)


def _per_example(actual, expected: float, tolerance: float) -> str | None:
    """"mean" or "sum": the reduction of an array that gives the float that was due
    (a batch left unreduced); None when neither does."""
    if not isinstance(actual, np.ndarray) or actual.size < 2 or actual.dtype.kind not in "biuf":
        return None
    values = np.asarray(actual, dtype=np.float64)
    for label, reduce in (("mean", np.mean), ("sum", np.sum)):
        if close(np.array([reduce(values)]), np.array([expected]), tolerance).all():
            return label
    return None


def _is_number(value) -> bool:
    return type(value) in (int, float, Scalar) and type(value) is not bool


def _type_name(value) -> str:
    if isinstance(value, Opaque):
        return _("a {type}").format(type=value.type_name) if value.type_name[:1].isupper() \
            else value.type_name
    if isinstance(value, np.ndarray):
        return _("an array of shape {shape}").format(shape=value.shape)
    if isinstance(value, (list, tuple)):
        return _("a {type} of {length}").format(type=type(value).__name__, length=len(value))
    return f"{type(value).__name__!s}" if value is not None else "None"


def _shape_verdict(name, array, expected, tolerance, context) -> Verdict:
    got, want = array.shape, expected.shape
    message = _("{name} has shape {got} but should have shape {want}").format(
        name=name, got=got, want=want)
    if got == want[::-1] and array.ndim == 2:
        if close(array.T, expected, tolerance).all():
            return Verdict(False, ["shape_mismatch", "transposed"],
                           _("{message}: it is the transpose of the right answer").format(
                               message=message))
        return Verdict(False, ["shape_mismatch", "transposed"],
                       _("{message}: the axes are swapped (transposed?)").format(message=message))
    if array.ndim == expected.ndim + 1 and got[1:] == want and got[0] > 1:
        for reduce, text in ((np.sum, _("{message}: it holds one row per example; the sum over "
                                        "the batch axis is the answer")),
                             (np.mean, _("{message}: it holds one row per example; the mean over "
                                         "the batch axis is the answer"))):
            if close(reduce(array, axis=0), expected, tolerance).all():
                return Verdict(False, ["shape_mismatch", "not_reduced"],
                               text.format(message=message))
        return Verdict(False, ["shape_mismatch", "not_reduced"],
                       _("{message}: it has an extra leading (batch) axis that was not "
                         "reduced").format(message=message))
    if np.squeeze(array).shape == np.squeeze(expected).shape:
        return Verdict(False, ["shape_mismatch"], _(
            "{message}: an extra axis of size 1 (keepdims=True, or a column vector where a 1-D "
            "array is due)").format(message=message))
    if array.size == expected.size and close(array.reshape(want), expected, tolerance).all():
        return Verdict(False, ["shape_mismatch"], _(
            "{message}: the values are right but laid out in another shape (a ravel or reshape "
            "too many?)").format(message=message))
    return Verdict(False, ["shape_mismatch"], message)


def _value_verdict(name, array, expected, good, tolerance, context, alternatives, explain,
                   redact) -> Verdict:
    error = float(np.max(np.abs(array - expected)) / max(np.max(np.abs(expected)), 1e-12))
    numbers = _(" (largest error {error} of the expected magnitude)").format(
        error=f"{error:.2g}")
    for slug, alternative in alternatives.items():
        if _is_alternative(alternative, array, expected, tolerance):
            text = explain.get(slug, "")  # marked with N_(): translated here, at run time
            message = _("{name} is wrong: {text}").format(name=name, text=_(text)) if text \
                else _("{name} is wrong").format(name=name)
            return Verdict(False, [f"misconception:{slug}"], message)
    if close(-array, expected, tolerance).all():
        return Verdict(False, ["sign_flipped"], _("{name} has the wrong sign everywhere: check "
                                                  "the sign of each local derivative").format(
            name=name))
    factor = _constant_factor(array, expected)
    if factor is not None and close(array, factor * expected, tolerance).all():
        label = _name_factor(factor, context)
        # any factor fits one number: unnamed, it only counts on several alike
        if label is not None or (array.size > 1 and
                                 abs(np.log(abs(factor))) >= np.log(MIN_UNNAMED_FACTOR)):
            return Verdict(False, ["scaled"], _("{name} is the right answer times {factor}: a "
                                                "missing or extra factor").format(
                name=name, factor=label or _("about {factor}").format(factor=f"{factor:.3g}")))
    if array.ndim == 2 and array.shape[0] == array.shape[1] and \
            close(array.T, expected, tolerance).all():
        return Verdict(False, ["transposed"], _("{name} is the transpose of the right "
                                                "answer").format(name=name))
    where = _localise(good)
    if where:
        return Verdict(False, ["wrong_values"], _("{name} is wrong only {where}{numbers}").format(
            name=name, where=where, numbers="" if redact else numbers))
    return Verdict(False, ["wrong_values"], _("{name} has wrong values{numbers}").format(
        name=name, numbers="" if redact else numbers))


def _constant_factor(array, expected) -> float | None:
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0:
        return None
    factor = float(np.sum(array * expected)) / denominator
    return factor if np.isfinite(factor) and abs(factor) > 1e-12 else None


#: An unnamed factor closer to 1 than this is no missing constant: a wrong term
#: that happens to rescale a few numbers alike (a Value graph's leaf grads, say).
MIN_UNNAMED_FACTOR = 1.1


def _name_factor(factor: float, context: dict[str, float]) -> str | None:
    """The factor's name (2, 1/N, lr...) when it is one of them; None otherwise."""
    candidates = {"2": 2.0, "1/2": 0.5, "-2": -2.0, "-1/2": -0.5}
    for size_name, size in context.items():
        candidates[size_name] = size
        candidates[f"1/{size_name}"] = 1.0 / size
    for label, value in candidates.items():
        if abs(factor - value) <= 1e-3 * abs(value):
            sizes = ", ".join(f"{k} = {v:g}" for k, v in context.items()
                              if k in label and not k.isdigit())  # "2 = 2" says nothing
            return f"{label}" + (f" ({sizes})" if sizes else "")
    return None


def _localise(good: np.ndarray) -> str:
    """Where the wrong elements are, when they are only some rows, columns or channels."""
    bad = ~good
    if good.ndim == 0 or bad.all():
        return ""
    axis_names = {2: (_("rows"), _("columns")),
                  4: (_("examples"), _("channels"), _("rows"), _("columns"))}
    names = axis_names.get(good.ndim, tuple(_("axis-{axis} positions").format(axis=i)
                                            for i in range(good.ndim)))
    for axis, label in enumerate(names):
        other = tuple(i for i in range(good.ndim) if i != axis)
        wrong_slices = bad.any(axis=other) if other else bad
        whole_slices = bad.all(axis=other) if other else bad
        if wrong_slices.sum() < good.shape[axis] and np.array_equal(wrong_slices, whole_slices):
            indices = [int(i) for i in np.flatnonzero(wrong_slices)]
            shown = ", ".join(map(str, indices[:6])) + (", ..." if len(indices) > 6 else "")
            return _("in {label} {indices} (of {total})").format(label=label, indices=shown,
                                                                   total=good.shape[axis])
    if good.ndim == 1 or bad.mean() < 0.5:
        count = int(bad.sum())
        return _("at {count} of {total} positions").format(count=count, total=good.size)
    return ""
