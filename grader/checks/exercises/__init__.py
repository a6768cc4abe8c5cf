"""The checks of every curriculum exercise, one module per assignment."""
from grader.checks.exercises import backprop, chain_rule, derivatives, optimization  # noqa: F401
