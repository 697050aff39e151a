"""Opaque keyset cursors: a position comes back exactly as it went out, and nothing else is taken for one."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from servicekit import pagination
from servicekit.problems import Problem

ROW = uuid.UUID("0b4a4b1e-8c1f-4d6a-9a53-1f2e3d4c5b6a")


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("at", [
    datetime(2026, 12, 1, 0, 16, 3, 123456, tzinfo=UTC),
    datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC),  # before the epoch: a negative count of microseconds
    datetime(2026, 12, 1, 1, 16, tzinfo=UTC).astimezone(),  # another zone, the same moment
])
def test_a_position_comes_back_to_the_microsecond(at):
    assert pagination.decode("as1", pagination.encode("as1", at, ROW)) == (at, ROW)


def test_a_cursor_of_another_list_is_refused_as_such():
    cursor = pagination.encode("lb1", datetime.now(UTC), ROW)
    with pytest.raises(pagination.InvalidCursor, match="not a cursor for this list"):
        pagination.decode("as1", cursor)


@pytest.mark.parametrize("cursor", [
    raw(f"as1:+1700000000000000:{ROW.hex}"),  # a sign encode() never writes
    raw(f"as1:01700000000000000:{ROW.hex}"),  # a leading zero
    raw(f"as1:1700000000000000:{ROW.hex.upper()}"),
    raw(f"as1:1700000000000000:{ROW}"),  # the id with dashes
    raw(f"as1:9999999999999999999:{ROW.hex}"),  # after the year 9999
    raw("as1:1700000000000000"),
    raw(f"as1:1700000000000000:{ROW.hex}") + "==",  # padded
    raw(f"as1:1700000000000000:{ROW.hex}") + "!",  # a character base64 decoding would skip
    "bDE6NQ",  # a catalogue cursor (l1:5)
    "",
    "\u00e9\u00e9\u00e9\u00e9",
])
def test_anything_but_what_encode_wrote_is_refused(cursor):
    with pytest.raises(pagination.InvalidCursor):
        pagination.decode("as1", cursor)


def test_a_bad_cursor_is_a_422_problem_naming_the_cursor_parameter():
    assert pagination.position("as1", None) is None
    with pytest.raises(Problem) as refused:
        pagination.position("as1", "bDE6NQ")
    assert refused.value.status == 422
    assert [e["field"] for e in refused.value.errors] == ["cursor"]


def test_a_page_fetched_with_one_more_row_says_whether_another_page_follows():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(start + timedelta(seconds=i), uuid.uuid4()) for i in range(4)]
    page, cursor = pagination.next_cursor("as1", rows, 3, lambda row: row)
    assert page == rows[:3]
    assert pagination.decode("as1", cursor) == rows[2]  # the next page starts after the last row shown
    assert pagination.next_cursor("as1", rows[:3], 3, lambda row: row) == (rows[:3], None)
