"""Calls sent ahead in one request answer exactly as calls made one at a time.

These drive a real sandbox (bubblewrap where the machine has it): the
batch's replies, a call that names what an earlier one kept, errors,
an endless loop stopped by the worker's alarm, one that ignores the alarm,
and a worker that dies mid-batch.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from grader.checks.ahead import Ahead, Call, earlier, send_ahead
from grader.sandbox.runner import Limits, Reply, Sandbox, StudentError

SOURCE = """
import os, signal
import numpy as np

def forward(x):
    return x * 2, {"x": x}

def backward(dout, cache):
    return dout * cache["x"]

def fails(x):
    raise KeyError("boom")

def loops(x):
    while True:
        pass

def ignores_the_alarm(x):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass

def dies(x):
    os._exit(3)
"""

X = np.arange(6.0).reshape(2, 3)


class OneByOne:
    """A sandbox that offers no batch: every call is a request of its own."""

    def __init__(self, sandbox: Sandbox):
        self.call = sandbox.call


def plan(*functions: str) -> list[list[Call]]:
    """One case per function: forward then backward on its cache, or the one call."""
    cases = []
    for function in functions:
        if function == "forward":
            cases.append([Call("forward", (X,), {"keep": True, "items": (0,)}),
                          Call("backward", (np.ones((2, 3)), earlier(0, 1)))])
        else:
            cases.append([Call(function, (X,))])
    return cases


def answers(sandbox, cases: list[list[Call]]) -> list[list]:
    """What each planned call gets, through the sandboxes send_ahead hands out."""
    got = []
    for case, ahead in zip(cases, send_ahead(sandbox, cases)):
        replies, kept = [], []
        for call in case:
            try:
                reply = ahead.call(call.function, *call.live(*kept),
                                   keep=call.options.get("keep", False),
                                   **{k: v for k, v in call.options.items() if k != "keep"})
                kept.append(reply.handle)
                replies.append(reply)
            except StudentError as error:
                replies.append(error)
                kept.append(None)
        got.append(replies)
    return got


def test_replies_match_calls_made_one_by_one():
    cases = plan("forward", "fails", "forward")
    with Sandbox(SOURCE) as batched, Sandbox(SOURCE) as one_by_one:
        ahead = answers(batched, cases)
        live = answers(OneByOne(one_by_one), cases)
    live_flat = [reply for case in live for reply in case]
    ahead_flat = [reply for case in ahead for reply in case]
    assert len(ahead_flat) == len(live_flat) == 5
    for a, b in zip(ahead_flat, live_flat):
        assert type(a) is type(b)
        if isinstance(a, Reply):
            assert np.array_equal(a.value[0] if isinstance(a.value, tuple) else a.value,
                                  b.value[0] if isinstance(b.value, tuple) else b.value)
        else:
            assert (a.kind, a.type_name) == (b.kind, b.type_name) == ("exception", "KeyError")
    assert np.array_equal(ahead[0][1].value, X)  # backward worked from forward's own cache


def test_the_calls_went_in_one_request():
    cases = plan("forward", "forward")
    with Sandbox(SOURCE) as sandbox:
        sandboxes = send_ahead(sandbox, cases)
        assert all(isinstance(s, Ahead) for s in sandboxes)
        assert [len(s.planned) for s in sandboxes] == [2, 2]


def test_a_call_off_the_plan_is_made_live():
    cases = plan("forward")
    with Sandbox(SOURCE) as sandbox:
        (ahead,) = send_ahead(sandbox, cases)
        reply = ahead.call("forward", X * 10, items=(0,))
        assert np.array_equal(reply.value[0], X * 20)  # not the batch's reply for X
        assert not ahead.planned


def test_an_endless_loop_ends_the_batch_at_its_call_in_the_usual_time():
    limits = Limits(call_seconds=1.0)
    cases = plan("forward", "loops", "forward", "forward")
    with Sandbox(SOURCE, limits) as sandbox:
        began = time.monotonic()
        replies = sandbox.batch([c.message(0) for c in cases[1]] * 3)
        took = time.monotonic() - began
        assert len(replies) == 1 and replies[0].kind == "timeout"
        assert took < 2.5  # the call's second, not three
        assert sandbox.pid is None  # killed: the next call starts afresh
        got = answers(sandbox, cases)
    assert isinstance(got[0][1], Reply)
    assert isinstance(got[1][0], StudentError) and got[1][0].kind == "timeout"
    assert "1 s" in got[1][0].message


@pytest.mark.parametrize("function, kind", [("ignores_the_alarm", "timeout"), ("dies", "crashed")])
def test_a_batch_that_fails_whole_is_made_again_one_call_at_a_time(function, kind):
    limits = Limits(call_seconds=1.0)
    cases = plan("forward", function, "forward")
    with Sandbox(SOURCE, limits) as sandbox:
        began = time.monotonic()
        assert sandbox.batch([c.message(0) for c in cases[1]]) is None
        assert time.monotonic() - began < 4
        got = answers(sandbox, cases)
    assert isinstance(got[0][0], Reply) and isinstance(got[2][1], Reply)
    assert isinstance(got[1][0], StudentError) and got[1][0].kind == kind


def test_a_call_with_callbacks_is_never_planned_ahead():
    with pytest.raises(ValueError, match="callbacks"):
        Call("forward", (X,), {"substitute": {"backward": ("reference_backward", False)}}).message(0)
