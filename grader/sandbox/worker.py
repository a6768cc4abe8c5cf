"""The worker: the only process that runs student code.

Each worker is forked by the warm parent (``zygote.py``) inside the sandbox,
with the request channel on fd 3 and the reply channel on fd 4. Its first
request carries the submission's source, which it runs; then it answers the
judge's requests one at a time: call a student function on inputs the judge
sent, and send back what came out, as plain data. It decides nothing: every verdict is the judge's, so nothing a student
does in here can do more than return wrong data.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import linecache
import operator
import os
import signal
import sys
import traceback
import types

REQUESTS, REPLIES = 3, 4
#: The name student code is compiled under: tracebacks and errors point into it.
SUBMISSION_FILE = "/submission/submission.py"
FORBIDDEN = ("torch", "jax", "jaxlib", "tensorflow", "autograd", "mxnet", "paddle",
             "tinygrad", "micrograd", "theano", "chainer", "keras", "sympy")
MAX_MESSAGE = 400


class ForbiddenImport(ImportError):
    pass


class _ForbiddenModule(types.ModuleType):
    """What ``import torch`` gives: a module whose every use fails clearly.

    The import itself succeeds so that only the functions that use the
    library lose their credit, as the curriculum says.
    """

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _ForbiddenModule(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        raise ForbiddenImport(f"'{self.__name__.split('.')[0]}' is not allowed in graded code: "
                              "use NumPy only")


class _ForbidLibraries(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A clear message for a policy; the sandbox, not this, keeps torch out."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in FORBIDDEN:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _ForbiddenModule(spec.name)

    def exec_module(self, module):
        pass


_requests = None


def requests():
    """The judge's channel: one reader, shared by the serve loop and the callbacks."""
    global _requests
    if _requests is None:
        _requests = protocol.FrameReader(REQUESTS)
    return _requests


def prepare(libdir: str) -> None:
    """What every worker shares, done once in the warm parent: NumPy imported, all of it."""
    sys.path.insert(0, libdir)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    global np, protocol, in_worker
    import numpy as np
    import numpy.fft  # noqa: F401  NumPy imports these on first use: ~20 ms a worker
    import numpy.random  # noqa: F401
    import protocol
    import in_worker


def forbid_libraries() -> None:
    sys.meta_path.insert(0, _ForbidLibraries())


class Worker:
    def __init__(self, submission_path: str = SUBMISSION_FILE):
        self.submission_path = submission_path
        self.module = None
        self.kept: dict[int, object] = {}
        self.locals: dict[str, object] = {}  # the stand-ins of the current call, by kind
        self.batch_kept: list[int | None] = []  # per call of the current batch, what it kept

    def serve(self) -> None:
        while True:
            try:
                request = requests().read()
            except protocol.Closed:
                return
            op = request.get("op")
            try:
                reply = getattr(self, f"op_{op}")(request)
            except BaseException as error:  # the student's code may raise anything
                reply = {"error": describe_error(error, self.submission_path)}
            self.send(reply)

    def send(self, reply: dict) -> None:
        try:
            protocol.write_frame(REPLIES, reply)
        except (protocol.ProtocolError, ValueError, TypeError) as error:
            protocol.write_frame(REPLIES, {"error": {"kind": "bad_output",
                                                     "message": str(error)[:MAX_MESSAGE]}})

    # -- requests -----------------------------------------------------------

    def op_load(self, request: dict) -> dict:
        source = request["source"]
        # the source is on no disk here: tracebacks quote their lines from this cache
        linecache.cache[self.submission_path] = (len(source), None, source.splitlines(True),
                                                 self.submission_path)
        module = types.ModuleType("submission")
        module.__file__ = self.submission_path
        sys.modules["submission"] = module
        cell_errors = []
        if source.startswith(protocol.CELL_MARKER):
            self.module = module  # a notebook: each cell on its own, like a kernel
            for start, cell in _cells(source):
                try:
                    code = compile("\n" * start + cell, self.submission_path, "exec")
                    exec(code, module.__dict__)
                except Exception as error:
                    cell_errors.append(describe_error(error, self.submission_path))
        else:
            exec(compile(source, self.submission_path, "exec"), module.__dict__)
            self.module = module
        names = sorted(name for name in vars(module) if not name.startswith("_"))
        return {"ok": True, "names": names, "cell_errors": cell_errors[:5]}

    def op_call(self, request: dict) -> dict:
        """Call a student function; say which inputs it changed, echo those asked for.

        An input is compared with a copy of itself taken before the call, here:
        sending every input back for the judge to compare cost more than the
        call. ``echo`` names the arguments whose state after the call the
        judge grades (a params dict updated in place); with ``items``, of a
        returned tuple only those items are sent (not a layer's cache).
        """
        function = self.function(request["function"])
        self.locals = {}
        sent = [protocol.decode(a) for a in request.get("args", [])]
        args = [self.resolve(a) for a in sent]
        kwargs = {k: self.resolve(protocol.decode(v)) for k, v in request.get("kwargs", {}).items()}
        echo = [int(i) for i in request.get("echo", [])]
        watched = {}
        if request.get("watch", True):
            watched = {i: _snapshot(arg) for i, (arg, wire) in enumerate(zip(args, sent))
                       if isinstance(wire, (np.ndarray, dict, protocol.Handle))}
        with self.substituted(request.get("substitute", {})):
            result = function(*args, **kwargs)
        changed = [i for i, before in watched.items() if not same_structure(before, args[i])]
        reply = {"result": protocol.encode(_only_items(result, request.get("items"))),
                 "mutated": [i for i in changed if not isinstance(sent[i], protocol.Handle)],
                 "cache_mutated": any(isinstance(sent[i], protocol.Handle) for i in changed),
                 "echo": {str(i): protocol.encode(args[i]) for i in echo if i < len(args)},
                 "logs": {kind: protocol.encode(local.log()) for kind, local in self.locals.items()}}
        if request.get("keep"):
            number = len(self.kept)
            self.kept[number] = result
            reply["handle"] = number
        return reply

    BATCHED = ("call", "steps", "value_graph")

    def op_batch(self, request: dict) -> dict:
        """Several requests in order (calls, steps, value graphs), their replies in one frame.

        Each call has ``seconds``: past them, the alarm ends the batch, whose
        last entry says so. The judge's own deadline covers code that stops
        the alarm.
        """
        seconds, replies = float(request["seconds"]), []
        previous = signal.signal(signal.SIGALRM, _overran)
        try:
            for call in request["calls"]:
                try:
                    if call.get("op") not in self.BATCHED:
                        raise ValueError(f"no {call.get('op')!r} in a batch")
                    signal.setitimer(signal.ITIMER_REAL, seconds)
                    reply = getattr(self, f"op_{call['op']}")(call)
                except CallOverran:
                    replies.append({"timeout": True})
                    break
                except BaseException as error:  # the student's code may raise anything
                    reply = {"error": describe_error(error, self.submission_path)}
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                self.batch_kept.append(reply.get("handle"))
                replies.append(reply)
        finally:
            signal.signal(signal.SIGALRM, previous)
            self.batch_kept = []
        return {"replies": replies}

    def op_steps(self, request: dict) -> dict:
        """Run an optimizer step several times on the same params dict.

        Records after every step what the judge grades: the params dict's
        arrays, whether each is still the array it held before the first step
        (an update in place, not a rebinding), and which gradients it changed.
        """
        function = self.function(request["function"])
        params = protocol.decode(request["params"])
        originals = dict(params)
        state: dict = {}
        kwargs = protocol.decode(request.get("kwargs", {"$dict": {}}))
        steps = []
        for encoded_grads in request["grads"]:
            grads = protocol.decode(encoded_grads)
            sent = _snapshot(grads)
            args = (params, grads, state) if request.get("with_state") else (params, grads)
            function(*args, **kwargs)
            steps.append({
                "params": protocol.encode(params),
                "same_object": {k: params.get(k) is originals[k] for k in originals},
                "grads_changed": [k for k in sent if not same_structure(sent[k], grads.get(k))],
            })
        return {"steps": steps}

    _BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "truediv": operator.truediv, "pow": operator.pow}

    def op_value_graph(self, request: dict) -> dict:
        """Build an expression with the student's Value, run backward once.

        Each node is ``[op, operand, ...]``: an operand is ``{"node": i}``
        (an earlier node) or ``{"const": c}`` (a plain number, on either side).
        """
        value_class = self.function("Value")
        nodes = []
        for op, *operands in request["nodes"]:
            args = [nodes[o["node"]] if "node" in o else o["const"] for o in operands]
            if op == "leaf":
                nodes.append(value_class(*args))
            elif op in self._BINARY:
                nodes.append(self._BINARY[op](*args))
            elif op == "neg":
                nodes.append(-args[0])
            else:
                nodes.append(getattr(args[0], op)())
        nodes[-1].backward()
        return {"data": [protocol.encode(getattr(n, "data", None)) for n in nodes],
                "grad": [protocol.encode(getattr(n, "grad", None)) for n in nodes]}

    # -- helpers --------------------------------------------------------------

    def function(self, name: str):
        if self.module is None:
            raise RuntimeError("submission not loaded")
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise MissingName(name) from None

    def resolve(self, value):
        """Swap the wire's stand-ins for live objects."""
        if isinstance(value, protocol.Handle) and value.side in ("worker", "batch"):
            number = value.number
            if value.side == "batch":  # what an earlier call of this batch kept
                number = self.batch_kept[number] if 0 <= number < len(self.batch_kept) else None
                if number is None:
                    raise EarlierCallFailed("the call this one works from did not return")
            obj = self.kept[number]
            return obj if value.item is None else obj[value.item]
        if isinstance(value, protocol.Callback):
            return callback_proxy(value.name)
        if isinstance(value, protocol.Local):
            local = self.locals[value.kind] = in_worker.STAND_INS[value.kind](value.spec)
            return local
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            if set(value) == {"$rng"}:
                return np.random.default_rng(int(value["$rng"]))
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def substituted(self, substitute: dict):
        """Swap submission functions for callbacks ([name, update_in_place]) or Locals."""
        return _Substituted(self.module, {
            name: callback_proxy(*how) if isinstance(how, list)
            else self.resolve(protocol.decode(how)) for name, how in substitute.items()})


def _only_items(result, items):
    """A returned tuple with the items the judge does not grade left out (a layer's cache)."""
    if items is None or type(result) not in (list, tuple):
        return result
    return type(result)(item if i in items else protocol.Opaque("not sent")
                        for i, item in enumerate(result))


def _snapshot(value):
    """A copy of an input deep enough to tell afterwards whether it was changed."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def same_structure(a, b) -> bool:
    """Whether ``b`` holds what ``a`` held: the same arrays, values and nesting."""
    try:
        return _same(a, b)
    except Exception:  # a value that cannot even be compared has changed
        return False


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.shape != b.shape:
            return False
        if a.dtype == b.dtype and a.tobytes() == b.tobytes():  # the usual case, and quick
            return True
        return np.array_equal(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                              equal_nan=True)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a is b or a == b or (a != a and b != b))


def _cells(source: str):
    """(first line index, code) of each cell of a notebook's source."""
    lines = source.split("\n")
    starts = [i for i, line in enumerate(lines) if line == protocol.CELL_MARKER] + [len(lines)]
    for begin, end in zip(starts, starts[1:]):
        yield begin + 1, "\n".join(lines[begin + 1:end])


class MissingName(Exception):
    pass


class EarlierCallFailed(Exception):
    pass


class CallOverran(BaseException):
    """A call of a batch ran past its time (BaseException: student code's ``except
    Exception`` does not swallow it)."""


def _overran(signum, frame):
    raise CallOverran()


class _Substituted:
    """Swap some of the submission's globals for callbacks, for one call."""

    _ABSENT = object()

    def __init__(self, module, replacements: dict):
        self.module, self.replacements, self.saved = module, replacements, {}

    def __enter__(self):
        for name, replacement in self.replacements.items():
            self.saved[name] = getattr(self.module, name, self._ABSENT)
            setattr(self.module, name, replacement)

    def __exit__(self, *exc):
        for name, old in self.saved.items():
            if old is self._ABSENT:
                delattr(self.module, name)
            else:
                setattr(self.module, name, old)


class CallbackFailed(Exception):
    pass


def callback_proxy(name: str, update_in_place: bool = False):
    """A function that asks the judge to compute ``name`` on its arguments.

    With ``update_in_place`` the judge's result is a dict of new values for
    the arrays of the first argument, written into them in place (how a
    reference optimizer step reaches the student's params).
    """
    def proxy(*args, **kwargs):
        protocol.write_frame(REPLIES, {"callback": name,
                                       "args": [protocol.encode(a) for a in args],
                                       "kwargs": {k: protocol.encode(v) for k, v in kwargs.items()}})
        reply = requests().read()
        if "error" in reply:
            raise CallbackFailed(str(reply["error"])[:MAX_MESSAGE])
        result = protocol.decode(reply["result"])
        if update_in_place:
            for key, new in result.items():
                args[0][key][...] = new
            return None
        return result

    proxy.__name__ = name
    return proxy


def describe_error(error: BaseException, submission_path: str) -> dict:
    if isinstance(error, NotImplementedError):
        kind = "not_implemented"
    elif isinstance(error, ForbiddenImport):
        kind = "forbidden"
    elif isinstance(error, MissingName):
        kind = "missing"
    elif isinstance(error, (MemoryError, RecursionError)):
        kind = "resource_limit"
    elif isinstance(error, SyntaxError) and error.filename == submission_path:
        kind = "syntax"
    else:
        kind = "exception"
    where = [f"line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"
             for frame in traceback.extract_tb(error.__traceback__)
             if frame.filename == submission_path]
    if kind == "syntax":
        where = [f"line {error.lineno}: {(error.text or '').strip()}"]
    described = {"kind": kind, "type": type(error).__name__,
                 "message": _safe_str(error)[:MAX_MESSAGE], "where": where[-3:]}
    if type(error) is in_worker.Refused:  # the judge words it, in the run's language
        described["refused"] = {"code": error.code, "fields": protocol.encode(error.fields)}
    return described


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException:
        return "<unprintable>"

