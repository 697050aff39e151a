"""Opaque cursors: a position in the catalogue or in its change log, not to be parsed by clients."""

from __future__ import annotations

import base64
import binascii

# Different prefixes, so a change-log cursor passed to the catalogue (or the reverse) is refused.
LISTING = "l1"
CHANGES = "c1"


class InvalidCursor(ValueError):
    pass


def encode(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        position = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("not a cursor this service issued") from None
    if prefix != kind or position < 0:
        raise InvalidCursor("not a cursor for this list")
    return position
