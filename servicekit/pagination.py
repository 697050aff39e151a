"""Keyset pages for the list endpoints: an opaque cursor over (timestamp, id), and the `cursor` and `limit` parameters.

A page is the first `limit` rows after the cursor in the list's order, found through an index on the same
(timestamp, id) pair: never OFFSET, so the thousandth page costs what the first does. A row keeps its
position for life (the pair never changes), so a walk from the first page to the last sees every row that
existed when it began exactly once, whatever is inserted or deleted meanwhile; a row committed during the
walk may or may not be in it. A filter (a status, say) is applied to each page as the rows are then.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

from servicekit.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page; "
                                                                 "left out for the first page.")]
NEXT_CURSOR = "Pass as `cursor` for the next page; null on the last page."

Position = tuple[datetime, uuid.UUID]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# kind, microseconds since the epoch, the id as 32 hex digits: exactly what encode() writes.
_TEXT = re.compile(r"([a-z][a-z0-9]{0,7}):(-?[0-9]{1,19}):([0-9a-f]{32})")


class InvalidCursor(ValueError):
    pass


def encode(kind: str, at: datetime, row_id: uuid.UUID) -> str:
    # Whole microseconds: PostgreSQL's timestamptz precision, so the position is exactly the row's.
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{kind}:{micros}:{row_id.hex}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str) -> Position:
    """The position `cursor` names; InvalidCursor unless it is a cursor encode() wrote for `kind`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("not a cursor this service issued") from None
    match = _TEXT.fullmatch(raw)
    if match is None:
        raise InvalidCursor("not a cursor this service issued")
    try:
        at = _EPOCH + timedelta(microseconds=int(match[2]))
    except OverflowError:  # beyond what a timestamp can be: never issued
        raise InvalidCursor("not a cursor this service issued") from None
    row_id = uuid.UUID(hex=match[3])
    # Only the exact text encode() writes: base64 decoding skips stray characters and a number may be
    # written with a sign or leading zeros, so a forged cursor would otherwise pass.
    if encode(match[1], at, row_id) != cursor:
        raise InvalidCursor("not a cursor this service issued")
    if match[1] != kind:
        raise InvalidCursor("not a cursor for this list")
    return at, row_id


def position(kind: str, cursor: str | None) -> Position | None:
    """Where the page starts: None for the first page; a 422 naming `cursor` for one this list did not issue."""
    if not cursor:
        return None
    try:
        return decode(kind, cursor)
    except InvalidCursor as exc:
        raise Problem(422, f"Invalid input: cursor: {exc}", errors=[{"field": "cursor", "reason": str(exc)}]) from None


def next_cursor(kind: str, page: list, limit: int, key) -> tuple[list, str | None]:
    """The page of at most `limit` items out of `page` (fetched with limit + 1) and the cursor after it, if more."""
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, encode(kind, *key(page[-1]))


def page_query(table: str, at: str, equal: Mapping[str, object], after: Position | None,
               limit: int) -> tuple[str, list[object]]:
    """The SELECT of one page of `table` in (`at`, id) order after `after`, with `column = value` for each filter
    given (None: not given), and its arguments. Each condition is written only when given, so the planner sees
    the columns of the index the page is read through, not `$1 IS NULL OR ...`. Names come from code only."""
    conditions: list[str] = []
    args: list[object] = []
    for column, value in equal.items():
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    if after is not None:
        args.extend(after)
        conditions.append(f"({at}, id) > (${len(args) - 1}::timestamptz, ${len(args)}::uuid)")
    args.append(limit)
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    return f"SELECT * FROM {table} {where}ORDER BY {at}, id LIMIT ${len(args)}", args
