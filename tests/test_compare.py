"""The comparison names the common mistakes from the numbers alone; a failed Value
expression is shrunk to its smallest wrong part and shown as code."""
from __future__ import annotations

import numpy as np
import pytest

from grader.checks.compare import compare_output, wrong_only_where
from grader.checks.exercises import expressions

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


def test_an_unnamed_factor_near_one_is_no_missing_factor():
    assert verdict(E * 1.02).diagnosis == ["wrong_values"]
    assert verdict(E * 1.7).diagnosis == ["scaled"]
    one = compare_output("loss", 1.3, 1.0, tolerance=1e-4)  # any factor fits one number
    assert one.diagnosis == ["wrong_values"]
    assert compare_output("loss", 2.0, 1.0, tolerance=1e-4).diagnosis == ["scaled"]


def test_a_recogniser_names_a_misconception_no_single_output_pins_down():
    kink = np.zeros(E.shape, dtype=bool)
    kink[1, 2] = True
    at_kink, elsewhere = E.copy(), E.copy()
    at_kink[1, 2] += 0.5
    elsewhere[0, 0] += 0.5
    alternatives = {"at_the_kink": wrong_only_where(kink)}
    assert verdict(at_kink, alternatives=alternatives).diagnosis == ["misconception:at_the_kink"]
    assert verdict(elsewhere, alternatives=alternatives).diagnosis == ["wrong_values"]
    assert verdict(E, alternatives=alternatives).passed


def test_a_per_example_loss_is_not_reduced():
    losses = rng.normal(size=5)
    result = compare_output("loss", losses, float(losses.mean()), tolerance=1e-4)
    assert result.diagnosis == ["wrong_type", "not_reduced"] and "mean" in result.message
    assert compare_output("loss", losses, 7.0, tolerance=1e-4).diagnosis == ["wrong_type"]


def test_right_values_in_the_wrong_shape_are_named():
    result = verdict(E.ravel())
    assert result.diagnosis == ["shape_mismatch"] and "another shape" in result.message


# -- a failed Value expression, shrunk and shown as code --------------------------------

#: (a * b) ** 2 + (2.5 - a), then its exp, then that squared by multiplication
EXPRESSION = [["leaf", {"const": 0.5}], ["leaf", {"const": -1.2}],
              ["mul", {"node": 0}, {"node": 1}], ["pow", {"node": 2}, {"const": 2.0}],
              ["sub", {"const": 2.5}, {"node": 0}], ["add", {"node": 3}, {"node": 4}],
              ["exp", {"node": 5}], ["mul", {"node": 6}, {"node": 6}]]
VALUES = [0.5, -1.2, -0.6, 0.36, 2.0, 2.36, 10.59, 112.2]


def test_an_expression_reads_as_python_with_the_graphs_own_grouping():
    code = expressions.as_code(EXPRESSION)
    assert str(code) == "t1 = ((a * b) ** 2 + (2.5 - a)).exp(); out = t1 * t1"
    assert code.leaf_values() == "a = 0.5, b = -1.2"


def test_shrinking_keeps_the_smallest_part_that_is_still_wrong():
    """Here only the subtraction is wrong: the search ends on it alone."""
    asked = []

    def wrong(expression):
        asked.append(expression)
        return any(node[0] == "sub" for node in expression)

    part = expressions.shrink(EXPRESSION, VALUES, wrong)
    assert str(expressions.as_code(part)) == "out = 2.5 - a"
    assert len(asked) <= expressions.BUDGET
    assert expressions.shrink(EXPRESSION, VALUES, lambda e: None) == EXPRESSION
