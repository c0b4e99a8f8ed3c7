"""The wire between judge and worker: length-prefixed frames holding ``torch.save`` bytes.

Both sides decode with ``torch.load(weights_only=True)``, so a frame can carry tensors
and plain values (dict, list, tuple, str, int, float, bool, None) and never an object
whose unpickling runs code. :func:`plain` then checks, on the judge's side, that
what arrived is exactly that: plain ``torch.Tensor`` (no subclass), plain containers.
"""

from __future__ import annotations

import io
import struct

HEADER = struct.Struct("!Q")
MAX_FRAME = 1 << 30  # 1 GiB: judge → worker (inputs such as test images)
MAX_ANSWER = 128 << 20  # worker → judge: more than any probe answer needs
MAX_ITEMS = 1_000_000  # containers and scalars in one answer: bounds the judge's decoding work
MAX_DEPTH = 20
MAX_INT = 1 << 63  # ints beyond int64 are refused (their text form can be huge)
MAX_STRING = 100_000


class ProtocolError(RuntimeError):
    """The other side sent something that is not a well-formed frame of plain data."""


def encode(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def decode(payload: bytes, bounded: bool = True):
    """Plain data from a frame; ``bounded`` (the judge's side) also applies the answer bounds.
    The worker decodes the judge's own messages (cells, inputs) without them."""
    import torch

    try:
        obj = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise ProtocolError(f"undecodable data ({type(exc).__name__})") from None
    return plain(obj) if bounded else obj


PLAIN_SCALARS = (str, int, float, bool, type(None))


def plain(obj):
    """Return ``obj`` if it is built only of plain values and plain tensors, else raise.

    Bounded work whatever arrives: at most MAX_ITEMS values, MAX_DEPTH levels, no int beyond
    64 bits, no string over MAX_STRING characters.
    """
    import torch

    budget = [MAX_ITEMS]

    def walk(item, depth):
        budget[0] -= 1
        if budget[0] < 0:
            raise ProtocolError(f"data with more than {MAX_ITEMS:,} values")
        if depth > MAX_DEPTH:
            raise ProtocolError("data nested too deeply")
        kind = type(item)
        if kind is torch.Tensor:
            return item
        if kind is int and not -MAX_INT <= item < MAX_INT:
            raise ProtocolError("an integer too large for 64 bits")
        if kind is str and len(item) > MAX_STRING:
            raise ProtocolError(f"a string of more than {MAX_STRING:,} characters")
        if kind in PLAIN_SCALARS:
            return item
        if kind in (list, tuple):
            return kind(walk(x, depth + 1) for x in item)
        if kind is dict:
            if not all(
                type(key) is str or (type(key) is int and -MAX_INT <= key < MAX_INT) for key in item
            ):
                raise ProtocolError("dictionary keys must be strings or integers")
            return {key: walk(value, depth + 1) for key, value in item.items()}
        raise ProtocolError(f"a value of type {kind.__name__} is not plain data")

    return walk(obj, 0)


def write_frame(stream, obj) -> None:
    payload = encode(obj)
    stream.write(HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_exactly(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(stream, max_size: int = MAX_FRAME, bounded: bool = True):
    (size,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if size > max_size:
        raise ProtocolError(f"a frame of {size} bytes is larger than the limit of {max_size}")
    return decode(read_exactly(stream, size), bounded)
