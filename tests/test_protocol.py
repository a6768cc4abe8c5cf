"""The wire between judge and worker carries data only."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from grader.sandbox import protocol


def roundtrip(value):
    return protocol.decode(protocol.encode(value))


def test_values_survive_the_wire():
    array = np.arange(6.0).reshape(2, 3)
    value = {"a": array, "b": (1, 2.5, None, "s"), "c": [np.float32(1.5), True]}
    back = roundtrip(value)
    assert np.array_equal(back["a"], array) and back["a"].dtype == np.float64
    assert back["b"] == (1, 2.5, None, "s")
    assert back["c"][0] == 1.5 and back["c"][0].dtype == "float32" and back["c"][1] is True


def test_objects_and_subclasses_become_opaque():
    class Sneaky(np.ndarray):
        pass

    assert isinstance(roundtrip(np.zeros(3).view(Sneaky)), protocol.Opaque)
    assert isinstance(roundtrip(np.array([object()])), protocol.Opaque)
    assert isinstance(roundtrip(object()), protocol.Opaque)


def test_pickled_and_object_arrays_are_refused():
    import base64

    payload = base64.b64encode(pickle.dumps(np.array([{"x": 1}], dtype=object))).decode()
    for dtype in ("|O", "<V8", "[('a', '|O')]", None, "float64"):
        with pytest.raises(protocol.ProtocolError, match="non-numeric"):
            protocol.decode({"$nd": payload, "dtype": dtype, "shape": [1]})


def test_array_bytes_must_match_their_shape():
    good = protocol.encode(np.arange(6.0).reshape(2, 3))
    assert good["dtype"] == "<f8" and good["shape"] == [2, 3]
    for shape in ([2, 2], [7], [-1, 6], [2.0, 3], "2,3", [1] * 33):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode({**good, "shape": shape})
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({**good, "$nd": "not base64!"})


def test_arrays_arrive_writable_in_native_byte_order():
    big_endian = np.arange(4, dtype=">f8")
    back = roundtrip(big_endian)
    assert back.dtype == np.float64 and back.dtype.isnative and np.array_equal(back, big_endian)
    back[0] = 7.0  # the judge may hand it on to code that writes into it


def test_malformed_data_is_a_protocol_error():
    for bad in ([1, 2], {}, {"$what": 1}, {"$handle": "x", "side": "judge"},
                {"$scalar": "1"}):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad)


def test_frames_over_the_limit_are_refused_before_reading():
    read, write = os.pipe()
    os.write(write, (protocol.MAX_FRAME_BYTES + 1).to_bytes(4, "big"))
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameReader(read).read(deadline=None)
    os.close(read), os.close(write)


def test_a_silent_peer_hits_the_deadline():
    import time

    read, write = os.pipe()
    os.write(write, b"\x00\x00")  # half a header, then nothing
    with pytest.raises(protocol.Deadline):
        protocol.FrameReader(read).read(deadline=time.monotonic() + 0.2)
    os.close(read), os.close(write)


def test_non_json_frame_is_refused():
    read, write = os.pipe()
    body = pickle.dumps({"x": 1})
    os.write(write, len(body).to_bytes(4, "big") + body)
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameReader(read).read(deadline=None)
    os.close(read), os.close(write)


def test_frames_are_read_whole_and_in_order_however_they_arrive():
    import threading
    import time

    read, write = os.pipe()
    reader = protocol.FrameReader(read)
    two = protocol.pack({"n": 1}) + protocol.pack({"n": 2, "pad": "x" * 100_000})
    os.write(write, two[:3])  # a header split, then the rest and a second frame behind it
    threading.Timer(0.05, lambda: os.write(write, two[3:70_000])).start()
    threading.Timer(0.1, lambda: os.write(write, two[70_000:])).start()
    assert reader.read(deadline=time.monotonic() + 5) == {"n": 1}
    assert reader.read(deadline=time.monotonic() + 5)["n"] == 2
    os.close(write)
    with pytest.raises(protocol.Closed):
        reader.read(deadline=time.monotonic() + 5)
    os.close(read)
