"""Sending an exercise's calls ahead: every case's in one request to the worker.

A round trip between the judge and the worker costs more than most calls
(about 0.1 ms of switching between the two processes, measured), and
many checks know their calls from a case's inputs alone. Such a check
says so in ``Check.calls``; ``send_ahead`` sends every case's calls in one
batch and hands each case a sandbox that answers those calls from the
batch's replies. ``run`` makes its calls as ever: a call that is not the
next one planned, or one the batch did not reach, is made live.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from grader.sandbox.protocol import Handle, Local
from grader.sandbox.runner import Reply, StudentError, call_message


@dataclass(frozen=True)
class Call:
    """One call of a student function, as a check plans it; ``options`` as Student.call's."""

    function: str
    args: tuple
    options: dict = field(default_factory=dict)

    def live(self, *kept: Handle) -> tuple:
        """The arguments, with what an earlier call of the case kept (``earlier``) in place."""
        return tuple(kept[a.number][a.item] if _is_earlier(a) else a for a in self.args)

    def message(self, offset: int) -> dict:
        """The request, its case's calls starting at ``offset`` in the batch."""
        if any(not isinstance(how, Local) for how in self.options.get("substitute", {}).values()):
            # a batch serves no callbacks, and the worker's alarm would time the judge's part
            raise ValueError(f"{self.function}: a call with callbacks cannot go ahead")
        args = [Handle("batch", offset + a.number, a.item) if _is_earlier(a) else a
                for a in self.args]
        options = dict(self.options)
        watch = options.pop("graded", True)
        return call_message(self.function, *args, watch=watch, **options)

    def matches(self, function: str, keep: bool, watch: bool, options: dict) -> bool:
        mine = dict(self.options)
        return function == self.function and keep == mine.pop("keep", False) and \
            watch == mine.pop("graded", True) and options == mine


@dataclass(frozen=True)
class Request:
    """A request of another kind (``steps``, ``value_graph``), as a check plans it.

    ``build`` makes its body, only when it is sent: an answer from the batch
    is found by ``op`` and ``function`` alone (``Student.send``).
    """

    op: str
    function: str | None
    build: Callable[[], dict]

    def message(self, offset: int) -> dict:
        return self.build()


def earlier(index: int, item: int | None = None) -> Handle:
    """An argument: what call ``index`` of the same case kept (its element ``item``)."""
    return Handle("batch", index, item)


def _is_earlier(value) -> bool:
    return isinstance(value, Handle) and value.side == "batch"


class Ahead:
    """A submission's sandbox, with the replies of a case's planned calls already in."""

    def __init__(self, sandbox, planned: list[tuple["Call | Request", "Reply | dict | StudentError"]]):
        self.sandbox, self.planned = sandbox, deque(planned)

    def call(self, function: str, *args, keep: bool = False, watch: bool = True, **options):
        head = self.planned[0][0] if self.planned else None
        if isinstance(head, Call) and head.matches(function, keep, watch, options):
            return self._next()
        self.planned.clear()  # off the plan: the rest is made live, in order
        return self.sandbox.call(function, *args, keep=keep, watch=watch, **options)

    def request(self, message: "dict | Request", *args, **kwargs):
        head = self.planned[0][0] if self.planned else None
        if isinstance(head, Request) and isinstance(message, Request) and \
                (head.op, head.function) == (message.op, message.function):
            return self._next()
        self.planned.clear()
        if isinstance(message, Request):
            message = message.build()
        return self.sandbox.request(message, *args, **kwargs)

    def _next(self):
        _, reply = self.planned.popleft()
        if isinstance(reply, StudentError):
            raise reply
        return reply

    def __getattr__(self, name):
        return getattr(self.sandbox, name)


def send_ahead(sandbox, plans: list[list["Call | Request"] | None]) -> list:
    """Per case, the sandbox to grade it with: ``sandbox`` itself, or an ``Ahead`` of it."""
    batch = getattr(sandbox, "batch", None)  # the benchmark's in-process stand-in has none
    if batch is None or any(plan is None for plan in plans) or sum(map(len, plans)) < 2:
        return [sandbox] * len(plans)
    messages, starts = [], []
    for plan in plans:
        start = len(messages)
        starts.append(start)
        messages += [call.message(start) for call in plan]
    replies = batch(messages)
    if replies is None:
        return [sandbox] * len(plans)
    return [Ahead(sandbox, list(zip(plan, replies[start:start + len(plan)])))
            for plan, start in zip(plans, starts)]
