"""The comparison names the common mistakes from the numbers alone."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.compare import compare_output

rng = np.random.default_rng(0)
E = rng.normal(size=(4, 3))


def verdict(actual, expected=E, **kw):
    return compare_output("dw", actual, expected, tolerance=1e-4, **kw)


def test_right_answer_in_float32_passes():
    assert verdict(E.astype(np.float32)).passed


@pytest.mark.parametrize("actual,codes", [
    (E.T.copy(), ["shape_mismatch", "transposed"]),
    (-E, ["sign_flipped"]),
    (E * 2, ["scaled"]),
    (E[None].repeat(5, 0) / 5, ["shape_mismatch", "not_reduced"]),
    (E[:, :, None], ["shape_mismatch"]),
    ([1.0, 2.0], ["wrong_type"]),
    (np.where(E > 0, np.nan, E), ["nan_or_inf"]),
])
def test_mistakes_are_named(actual, codes):
    result = verdict(actual)
    assert not result.passed and result.diagnosis == codes


def test_scale_factor_is_named_after_the_batch_size():
    result = verdict(E / 4, context={"N": 4.0})
    assert result.diagnosis == ["scaled"] and "1/N" in result.message


def test_wrong_rows_are_located():
    wrong = E.copy()
    wrong[2] += 1.0
    result = verdict(wrong)
    assert result.diagnosis == ["wrong_values"] and "rows 2" in result.message


def test_misconception_output_is_recognised():
    result = verdict(E + 1, alternatives={"off_by_one": E + 1},
                     explain={"off_by_one": "a hint"})
    assert result.diagnosis == ["misconception:off_by_one"] and "a hint" in result.message


def test_hidden_cases_do_not_show_numbers():
    wrong = E + rng.normal(size=E.shape)
    assert "largest error" not in verdict(wrong, redact=True).message
    assert "largest error" in verdict(wrong).message


def test_scalars():
    assert compare_output("loss", 1.0, 1.0 + 1e-9, tolerance=1e-4).passed
    assert compare_output("loss", "1.0", 1.0, tolerance=1e-4).diagnosis == ["wrong_type"]
    assert compare_output("loss", float("nan"), 1.0, tolerance=1e-4).diagnosis == ["nan_or_inf"]
