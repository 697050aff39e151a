"""Opaque cursors: a position in the catalogue or in its change log, not to be parsed by clients."""

from __future__ import annotations

import base64
import binascii

# Different prefixes, so a change-log cursor passed to the catalogue (or the reverse) is refused.
LISTING = "l1"
CHANGES = "c1"
# Positions are PostgreSQL bigints (listed_seq, the change log's seq); a larger one was never issued
# and would only make the query fail.
MAX_POSITION = 2**63 - 1


class InvalidCursor(ValueError):
    pass


def encode(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("not a cursor this service issued") from None
    prefix, _, number = raw.partition(":")
    # Only the exact text encode() writes: base64 decoding skips stray characters, and int() takes signs,
    # spaces, "_", leading zeros and non-ASCII digits, so a forged cursor would otherwise pass.
    if not (number.isascii() and number.isdigit() and len(number) <= len(str(MAX_POSITION))):
        raise InvalidCursor("not a cursor this service issued")
    position = int(number)
    if position > MAX_POSITION or encode(prefix, position) != cursor:
        raise InvalidCursor("not a cursor this service issued")
    if prefix != kind:
        raise InvalidCursor("not a cursor for this list")
    return position
