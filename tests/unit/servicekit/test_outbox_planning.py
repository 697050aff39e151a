"""Which pending outbox rows a relay pass may publish: in sequence, and never past a key's backing-off row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from servicekit.outbox import PendingRow, plan_batch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def row(seq: int, key: str, *, retry_in: float | None = None) -> PendingRow:
    return PendingRow(seq=seq, event_id=uuid.uuid4(), key=key, ce_type="t", ce_source="s", ce_time=NOW,
                      payload={}, next_attempt_at=None if retry_in is None else NOW + timedelta(seconds=retry_in))


def test_rows_are_grouped_per_key_in_sequence_order():
    lanes = plan_batch([row(1, "a"), row(2, "b"), row(3, "a")], NOW)
    assert [[r.seq for r in lane] for lane in lanes.values()] == [[1, 3], [2]]


def test_a_key_whose_earliest_row_is_backing_off_publishes_nothing_after_it():
    lanes = plan_batch([row(1, "a", retry_in=5), row(2, "a"), row(3, "b")], NOW)
    assert list(lanes) == ["b"]


def test_a_row_whose_backoff_has_passed_is_due_again():
    lanes = plan_batch([row(1, "a", retry_in=-1), row(2, "a")], NOW)
    assert [r.seq for r in lanes["a"]] == [1, 2]
