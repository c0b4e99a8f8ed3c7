"""dlcourse.protocol, the wire between judge and worker: plain data round trips, anything else
is refused as ProtocolError, frames over the limit are refused before they are read."""

from __future__ import annotations

import io
import math
import pickle
from collections import OrderedDict

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import protocol
from dlcourse.protocol import ProtocolError

DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
    torch.complex64,
]


@st.composite
def tensors(draw):
    shape = draw(st.lists(st.integers(0, 4), max_size=3))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**31))
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 100).to(dtype)


INT64 = st.integers(-(2**63), 2**63 - 1)
SCALARS = st.none() | st.booleans() | INT64 | st.floats() | st.text(max_size=30)
PLAIN = st.recursive(
    SCALARS | tensors(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=5) | INT64, inner, max_size=4)
    ),
    max_leaves=20,
)


def same(a, b) -> bool:
    """Equal values of the same types all the way down (nan equal to nan)."""
    if type(a) is not type(b):
        return False
    if type(a) is torch.Tensor:
        nan = a.isnan()
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(nan, b.isnan())
            and torch.equal(a[~nan], b[~nan])
        )
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is float and math.isnan(a):
        return math.isnan(b)
    return a == b


@given(PLAIN)
def test_plain_data_round_trips_exactly(value):
    assert same(protocol.decode(protocol.encode(value)), value)


@given(PLAIN)
def test_frames_round_trip_through_a_stream(value):
    stream = io.BytesIO()
    protocol.write_frame(stream, value)
    protocol.write_frame(stream, "second")
    stream.seek(0)
    assert same(protocol.read_frame(stream), value)
    assert protocol.read_frame(stream) == "second"


def test_tensors_arrive_on_the_cpu_as_plain_tensors():
    back = protocol.decode(protocol.encode({"w": torch.ones(2, requires_grad=True)}))
    assert type(back["w"]) is torch.Tensor and back["w"].device.type == "cpu"


class AlwaysEqual:
    def __eq__(self, other):
        return True


class Sub(torch.Tensor):
    pass


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    "value",
    [
        AlwaysEqual(),
        [1, AlwaysEqual()],
        {"x": {"y": AlwaysEqual()}},
        torch.zeros(3).as_subclass(Sub),
        torch.nn.Parameter(torch.zeros(2)),
        torch.Size([2, 3]),
        {1, 2},
        b"bytes",
        1 + 2j,
        OrderedDict(a=1),
        {(1, 2): "tuple key"},
        {1.5: "float key"},
        torch.device("cpu"),
        torch.float32,
    ],
    ids=[
        "object",
        "nested-in-list",
        "nested-in-dict",
        "tensor-subclass",
        "parameter",
        "size",
        "set",
        "bytes",
        "complex",
        "ordered-dict",
        "tuple-key",
        "float-key",
        "device",
        "dtype",
    ],
)
def test_what_is_not_plain_data_is_refused(value):
    try:
        payload = protocol.encode(value)
    except Exception:  # noqa: BLE001 (torch.save cannot even write it: nothing to refuse)
        return
    with pytest.raises(ProtocolError):
        protocol.decode(payload)


def test_nesting_deeper_than_the_limit_is_refused():
    value = inner = []
    for _ in range(25):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ProtocolError, match="nested too deeply"):
        protocol.plain(value)
    shallow = [[[["ok"]]]]
    assert protocol.plain(shallow) == shallow


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with pytest.raises(ProtocolError, match="undecodable"):
        protocol.decode(pickle.dumps(Evil()))
    buffer = io.BytesIO()
    torch.save({"x": Evil()}, buffer)
    with pytest.raises(ProtocolError, match="undecodable"):
        protocol.decode(buffer.getvalue())
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@given(st.binary(max_size=500))
def test_random_payloads_are_refused_or_plain(data):
    try:
        value = protocol.decode(data)
    except ProtocolError:
        return
    assert protocol.plain(value) is not None or value is None


# --- frames -----------------------------------------------------------------------------


def test_a_frame_over_the_limit_is_refused_before_its_payload_is_read():
    class Header(io.RawIOBase):
        """A stream that claims a 1 TiB frame and fails the test if its payload is read."""

        def __init__(self):
            self.data = io.BytesIO(protocol.HEADER.pack(1 << 40))

        def read(self, size=-1):
            chunk = self.data.read(size)
            assert chunk, "the payload of an oversized frame was read"
            return chunk

    with pytest.raises(ProtocolError, match=r"larger than the limit of \d+"):
        protocol.read_frame(Header())


def test_the_limit_is_the_payload_size():
    stream = io.BytesIO()
    protocol.write_frame(stream, torch.zeros(1000))
    size = len(stream.getvalue()) - protocol.HEADER.size
    stream.seek(0)
    with pytest.raises(ProtocolError, match="limit"):
        protocol.read_frame(stream, max_size=size - 1)
    stream.seek(0)
    assert torch.equal(protocol.read_frame(stream, max_size=size), torch.zeros(1000))
    assert protocol.MAX_FRAME == 1 << 30


@pytest.mark.parametrize("cut", [0, 3, protocol.HEADER.size, protocol.HEADER.size + 10])
def test_a_stream_that_ends_mid_frame_is_an_eof(cut):
    stream = io.BytesIO()
    protocol.write_frame(stream, {"x": torch.zeros(10)})
    with pytest.raises(EOFError):
        protocol.read_frame(io.BytesIO(stream.getvalue()[:cut]))


def test_a_frame_of_garbage_is_a_protocol_error():
    payload = b"\x00garbage" * 10
    with pytest.raises(ProtocolError, match="undecodable"):
        protocol.read_frame(io.BytesIO(protocol.HEADER.pack(len(payload)) + payload))


def test_read_exactly_joins_short_reads():
    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def read(self, size=-1):
            return self.data.read(min(size, 3))

    assert protocol.read_exactly(Trickle(b"0123456789"), 10) == b"0123456789"
