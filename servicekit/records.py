"""What the consumer reads: a Kafka record as received (a replayed one as first read), what became of it, and the
handlers' shapes; independent of the Kafka client library."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from schuldenlab_contracts.cloudevents import CloudEvent, ContractViolation
from schuldenlab_contracts.registry import by_type
from servicekit.deadletters import ORIGINAL_TOPIC
from servicekit.uow import UnitOfWork

EventHandler = Callable[[BaseModel | None, CloudEvent, UnitOfWork], Awaitable[None]]
# The same for a run of events of one type, in their order; the one-record handler stays the reference.
BatchHandler = Callable[[Sequence[tuple[BaseModel | None, CloudEvent]], UnitOfWork], Awaitable[None]]
Headers = Sequence[tuple[str, bytes]]


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    STALE = "stale"  # a state record older than one already applied for its key
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class ReceivedRecord:
    """The parts of a Kafka record the consumer needs, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True)
class Readable:
    """A record read as its event (a replayed one as first read), with the handler of its type."""

    record: ReceivedRecord
    event: CloudEvent
    handler: EventHandler
    payload: BaseModel | None
    via: str  # how it came, for the log: "" or " (replayed through ...)"

    @property
    def where(self) -> str:
        return f"{self.record.topic}[{self.record.partition}]@{self.record.offset}"



def topics_for(handlers: Mapping[str, EventHandler]) -> list[str]:
    """The topics that carry the event types a service handles."""
    return sorted({by_type(ce_type).topic for ce_type in handlers})



def as_first_read(record: ReceivedRecord, service: str, topics: Collection[str]) -> ReceivedRecord:
    """A replayed record as the one first read: its topic and coordinates, its headers without dlq_*.

    So it meets the same rules as on its first delivery: the contract of that topic (ce_source
    included), the inbox's ce_id (applied once, whichever way it came) and, on the compacted feed,
    the newest state applied per key. Only the operator may write the retry topic (the ACLs);
    still, a record naming a topic this service does not read is refused like any invalid one.
    """
    headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
    original = headers.get(ORIGINAL_TOPIC)
    if original not in topics:
        raise ContractViolation(ORIGINAL_TOPIC, f"{original!r} is not a topic {service} consumes"
                                if original else "missing: a replayed record names the topic it came from")
    return ReceivedRecord(
        topic=original, partition=_number(headers.get("dlq_original_partition")),
        offset=_number(headers.get("dlq_original_offset")), key=record.key, value=record.value,
        headers=tuple((name, value) for name, value in record.headers if not name.startswith("dlq_")),
    )


def _number(text: str | None) -> int:
    """A coordinate from a header; -1 where the header is missing or no number (an unknown position)."""
    try:
        return int(text or "")
    except ValueError:
        return -1
