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
MAX_FRAME = 1 << 30  # 1 GiB: more than any probe answer needs, less than memory


class ProtocolError(RuntimeError):
    """The other side sent something that is not a well-formed frame of plain data."""


def encode(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def decode(payload: bytes):
    import torch

    try:
        obj = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise ProtocolError(f"undecodable data ({type(exc).__name__})") from None
    return plain(obj)


PLAIN_SCALARS = (str, int, float, bool, type(None))


def plain(obj, depth: int = 0):
    """Return ``obj`` if it is built only of plain values and plain tensors, else raise."""
    import torch

    if depth > 20:
        raise ProtocolError("data nested too deeply")
    kind = type(obj)
    if kind is torch.Tensor:
        return obj
    if kind in PLAIN_SCALARS:
        return obj
    if kind in (list, tuple):
        return kind(plain(item, depth + 1) for item in obj)
    if kind is dict:
        if not all(type(key) in (str, int) for key in obj):
            raise ProtocolError("dictionary keys must be strings or integers")
        return {key: plain(value, depth + 1) for key, value in obj.items()}
    raise ProtocolError(f"a value of type {kind.__name__} is not plain data")


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


def read_frame(stream, max_size: int = MAX_FRAME):
    (size,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if size > max_size:
        raise ProtocolError(f"a frame of {size} bytes is larger than the limit of {max_size}")
    return decode(read_exactly(stream, size))
