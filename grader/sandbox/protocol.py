"""The wire format between the judge and a sandboxed worker: data only.

Every message is one frame: a 4-byte big-endian length, then UTF-8 JSON.
Arrays travel as their raw bytes (base64) with a dtype from a short list of
numeric ones and a shape that must account for every byte; dicts, lists,
numbers and strings travel as JSON.
Nothing is ever pickled, so a hostile worker can send wrong data but can
never make the judge run code.

This module runs on both sides of the sandbox wall, so it imports only the
standard library and NumPy, never the rest of the grader.
"""
from __future__ import annotations

import base64
import json
import math
import os
import select
import struct
import time

import numpy as np

#: Starts each notebook cell in a submission's source: the worker runs the cells
#: one by one, as a kernel does, so an error in one cell does not undo the others.
CELL_MARKER = "# %% grader: notebook cell"

MAX_FRAME_BYTES = 64 * 2**20
MAX_ARRAY_BYTES = 16 * 2**20  # far above any case's size; refused before encoding
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


class Deadline(Exception):
    """No complete frame arrived before the deadline."""


class Closed(ProtocolError):
    """The other side closed the channel (the worker died)."""


class Handle:
    """An object that stays on one side of the wall, named by its number.

    ``side`` is ``"worker"`` for objects the student's code made (a layer
    cache), ``"judge"`` for objects the judge keeps (a reference cache
    handed to student code through a callback), and ``"batch"`` for what the
    call of that number in the same batch request kept.
    """

    __slots__ = ("side", "number", "item")

    def __init__(self, side: str, number: int, item: int | None = None):
        self.side, self.number, self.item = side, number, item

    def __getitem__(self, item: int) -> "Handle":
        """The element ``item`` of the object, e.g. the cache in (out, cache)."""
        return Handle(self.side, self.number, item)

    def __repr__(self) -> str:
        return f"<{self.side} object #{self.number}>"


class Callback:
    """A function argument that the worker calls back into the judge."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Local:
    """A function argument that runs in the worker: one of ``in_worker``'s stand-ins.

    ``kind`` names it, ``spec`` (plain data) configures it; what it saw comes
    back in the reply's ``logs``, under its kind.
    """

    __slots__ = ("kind", "spec")

    def __init__(self, kind: str, spec: dict):
        self.kind, self.spec = kind, spec


class Opaque:
    """Stands for a value of a type the wire does not carry."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


_NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: what grading can use
#: The only dtypes an array may arrive as, by their wire names (native byte order).
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float16, np.float32, np.float64)}


def encode(value):
    """Turn a value into JSON-ready data; unknown types become Opaque tags."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, np.ndarray) and type(value) is np.ndarray:
        if value.dtype.kind not in _NUMERIC_KINDS:
            return {"$opaque": f"ndarray of dtype {value.dtype}"}
        if value.nbytes > MAX_ARRAY_BYTES:
            return {"$opaque": f"array of {value.nbytes} bytes (over the size limit)"}
        value = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
        if value.dtype.str not in _DTYPES:  # float128 and the like
            value = value.astype(np.float64)
        return {"$nd": base64.b64encode(value.data).decode("ascii"),
                "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return {"$scalar": value.item(), "dtype": str(value.dtype)}
    if type(value) in (list, tuple):
        return {"$seq": [encode(item) for item in value], "tuple": type(value) is tuple}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"$dict": {key: encode(item) for key, item in value.items()}}
    if type(value) is Handle:
        return {"$handle": value.number, "side": value.side, "item": value.item}
    if type(value) is Callback:
        return {"$callback": value.name}
    if type(value) is Local:
        return {"$local": value.kind, "spec": encode(value.spec)}
    if type(value) is Opaque:
        return {"$opaque": value.type_name}
    return {"$opaque": type(value).__name__}


class Scalar(float):
    """A NumPy scalar as it arrived: a float that remembers its dtype."""

    dtype: str = "float64"


def decode(data):
    """The inverse of encode; strict about shape of the data it accepts."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        raise ProtocolError("bare JSON list")
    if not isinstance(data, dict) or len(data) == 0:
        raise ProtocolError("malformed value")
    if "$nd" in data:
        return _decode_array(data)
    if "$scalar" in data:
        value = data["$scalar"]
        if type(value) not in (bool, int, float):
            raise ProtocolError("malformed scalar")
        scalar = Scalar(value)
        scalar.dtype = str(data.get("dtype", "float64"))
        return scalar
    if "$seq" in data:
        items = [decode(item) for item in data["$seq"]]
        return tuple(items) if data.get("tuple") else items
    if "$dict" in data:
        return {str(key): decode(item) for key, item in data["$dict"].items()}
    if "$handle" in data:
        number, side, item = data["$handle"], data.get("side"), data.get("item")
        if type(number) is not int or side not in ("worker", "judge", "batch"):
            raise ProtocolError("malformed handle")
        if item is not None and type(item) is not int:
            raise ProtocolError("malformed handle")
        return Handle(side, number, item)
    if "$callback" in data:
        return Callback(str(data["$callback"]))
    if "$local" in data:
        spec = decode(data.get("spec"))
        if not isinstance(spec, dict):
            raise ProtocolError("malformed local function")
        return Local(str(data["$local"]), spec)
    if "$opaque" in data:
        return Opaque(str(data["$opaque"])[:80])
    raise ProtocolError("unknown value tag")


def _decode_array(data: dict) -> np.ndarray:
    dtype, shape = _DTYPES.get(data.get("dtype")), data.get("shape")
    if dtype is None:
        raise ProtocolError("array of a non-numeric dtype")
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape) \
            or len(shape) > 32:
        raise ProtocolError("malformed array shape")
    if not isinstance(data["$nd"], str):
        raise ProtocolError("malformed array data")
    try:
        raw = bytearray(base64.b64decode(data["$nd"], validate=True))
    except ValueError:
        raise ProtocolError("malformed array data") from None
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise ProtocolError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def pack(message: dict) -> bytes:
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes is over the limit")
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, message: dict) -> None:
    data = memoryview(pack(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


class FrameReader:
    """The frames arriving on one file descriptor, read a whole frame at a time where it can.

    A frame is sent with one write, so one read usually brings all of it:
    reading its header and then its body cost a round trip two system calls
    (and the judge a poll each) more. Bytes past a frame wait for the next.
    """

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, bytearray()
        self.waiting = select.poll()
        self.waiting.register(fd, select.POLLIN)

    def read(self, deadline: float | None = None) -> dict:
        """The next frame, giving up at ``deadline``.

        ``deadline`` is a ``time.monotonic()`` value; None waits for ever (the
        worker side, whose judge is trusted).
        """
        self._fill(_HEADER.size, deadline)
        (length,) = _HEADER.unpack_from(self.buffer)
        if length > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {length} bytes announced, over the limit")
        end = _HEADER.size + length
        self._fill(end, deadline)
        body = self.buffer[_HEADER.size:end]
        del self.buffer[:end]
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise ProtocolError(f"frame is not JSON: {error}") from None
        if not isinstance(message, dict):
            raise ProtocolError("frame is not a JSON object")
        return message

    def _fill(self, count: int, deadline: float | None) -> None:
        while len(self.buffer) < count:
            if deadline is not None:
                timeout = deadline - time.monotonic()
                if timeout <= 0 or not self.waiting.poll(timeout * 1000):
                    raise Deadline()
            chunk = os.read(self.fd, min(max(count - len(self.buffer), 1 << 16), 1 << 20))
            if not chunk:
                raise Closed("channel closed")
            self.buffer += chunk
