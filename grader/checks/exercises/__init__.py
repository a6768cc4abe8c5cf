"""The checks of every curriculum exercise, one module per assignment.

(``expressions`` is no assignment: it shrinks a failed Value expression and
shows it as code, for ``chain_rule``.)
"""
from grader.checks.exercises import backprop, chain_rule, derivatives, optimization  # noqa: F401
