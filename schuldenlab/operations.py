"""Operator commands on a running platform: follow events, list dead letters and replay them to their service."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schuldenlab.services import load_definition
from schuldenlab.state import require_broker
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import (
    ORIGINAL_TOPIC,
    REPLAY_OF,
    VALUE_BYTES,
    VALUE_DROPPED,
    VALUE_SHA256,
    dead_letter_topic,
    retry_topic,
    topics_for,
)
from servicekit.kafka import check_connection, client_options, producer_options


async def _platform_broker(settings: Settings) -> Settings:
    """The configured or running platform's broker, logged in to once: none, or one not answering, is one line."""
    settings = require_broker(settings)
    # Without idempotence the check asks for nothing but the login: these commands may run as a read-only user.
    await check_connection(replace(settings, kafka_idempotence=False))
    return settings


async def follow_events(settings: Settings, *, topics: list[str] | None, from_beginning: bool) -> int:
    settings = await _platform_broker(settings)
    consumer = AIOKafkaConsumer(*(topics or [spec.topic for spec in EVENTS]),
                                **client_options(settings, client_id="schuldenlab-events"), group_id=None,
                                auto_offset_reset="earliest" if from_beginning else "latest")
    await consumer.start()
    try:
        async for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            data = "(tombstone)" if record.value is None else record.value.decode()
            print(f"{headers.get('ce_time', '?')} {headers.get('ce_type', '?')} subject={headers.get('ce_subject')}"
                  f" id={headers.get('ce_id')}\n  {data}", flush=True)
    finally:
        await consumer.stop()
    return 0


async def topic_partitions(client: dict, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, asked of the cluster (a consumer knows only the topics it subscribed to)."""
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for entry in described:
        if (entry.get("topic") or entry.get("name")) == topic and not entry.get("error_code"):
            return sorted(TopicPartition(topic, p.get("partition", p.get("partition_index")))
                          for p in entry["partitions"])
    return []


async def _assign_all(consumer: AIOKafkaConsumer, settings: Settings, topic: str) -> list[TopicPartition]:
    """Assign every partition of `topic` to this consumer: operator commands never join a group."""
    partitions = await topic_partitions(client_options(settings), topic)
    consumer.assign(partitions)
    return partitions


async def _read(consumer: AIOKafkaConsumer, partitions: list[TopicPartition],
                selection: Selection | None = None) -> AsyncIterator[ConsumerRecord]:
    """Every record of the partitions, within the selection's offsets, up to each partition's end as of now."""
    selection = selection or Selection()
    starts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    stops = {tp: ends[tp] if selection.to_offset is None else min(ends[tp], selection.to_offset + 1)
             for tp in partitions}
    for tp in partitions:
        consumer.seek(tp, max(starts[tp], selection.from_offset or 0))
    pending = {tp for tp in partitions if await consumer.position(tp) < stops[tp]}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset < stops[tp]:
                    yield record
        pending = {tp for tp in pending if await consumer.position(tp) < stops[tp]}


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command takes: an offset range (inclusive, as `dlq list` numbers them) and error types."""

    from_offset: int | None = None
    to_offset: int | None = None
    error_types: Collection[str] = ()

    def admits(self, headers: dict[str, str]) -> bool:
        return not self.error_types or headers.get("dlq_error_type") in self.error_types


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {name: value.decode(errors="replace") for name, value in record.headers}


def _coordinates(record: ConsumerRecord) -> str:
    """How a record is named in markers and output: topic[partition]@offset."""
    return f"{record.topic}[{record.partition}]@{record.offset}"


def _consumer(settings: Settings) -> AIOKafkaConsumer:
    # Operator commands never join a group: they assign partitions and keep no offsets.
    return AIOKafkaConsumer(**client_options(settings, client_id="schuldenlab-dlq"), group_id=None,
                            enable_auto_commit=False)


async def _replayed(consumer: AIOKafkaConsumer, settings: Settings, service: str) -> set[str] | None:
    """The dead letters already replayed to `service` (as the retry topic's records name them); None: no topic."""
    partitions = await _assign_all(consumer, settings, retry_topic(service))
    if not partitions:
        return None
    return {headers[REPLAY_OF] async for record in _read(consumer, partitions)
            if REPLAY_OF in (headers := _headers(record))}


async def list_dead_letters(settings: Settings, service: str, selection: Selection | None = None) -> int:
    settings = await _platform_broker(settings)
    selection = selection or Selection()
    topic = dead_letter_topic(service)
    consumer = _consumer(settings)
    await consumer.start()
    count = 0
    try:
        replayed = await _replayed(consumer, settings, service) or set()
        partitions = await _assign_all(consumer, settings, topic)
        async for record in _read(consumer, partitions, selection):
            h = _headers(record)
            if not selection.admits(h):
                continue
            count += 1
            print(f"#{record.offset} {h.get('dlq_failed_at')} from {h.get(ORIGINAL_TOPIC)}"
                  f"[{h.get('dlq_original_partition')}]@{h.get('dlq_original_offset')} attempts={h.get('dlq_attempts')}"
                  f"\n  error: {h.get('dlq_error')}\n  ce_type={h.get('ce_type')} ce_id={h.get('ce_id')}")
            if VALUE_DROPPED in h:
                print(f"  value dropped ({h.get(VALUE_BYTES, '?')} bytes, sha256 {h.get(VALUE_SHA256, '-')}): "
                      f"{h[VALUE_DROPPED]}; it cannot be replayed")
            if _coordinates(record) in replayed:
                print(f"  replayed to {service} ({retry_topic(service)})")
    finally:
        await consumer.stop()
    print(f"{count} dead letter(s) on {topic}", file=sys.stderr)
    return 0


class ReplayError(RuntimeError):
    """Replay cannot start; the message says what to do."""


@dataclass(frozen=True)
class _Planned:
    coordinates: str
    status: str  # "replay", or why not
    error_type: str | None
    original: str


def _plan(record: ConsumerRecord, headers: dict[str, str], replayed: set[str], consumed: set[str]) -> _Planned:
    original = (f"{headers.get(ORIGINAL_TOPIC)}[{headers.get('dlq_original_partition')}]"
                f"@{headers.get('dlq_original_offset')}")
    if _coordinates(record) in replayed:
        status = "replayed before"
    elif VALUE_DROPPED in headers:
        status = "not replayable: its value was dropped (a stub)"
    elif headers.get(ORIGINAL_TOPIC) not in consumed:
        # A replayed record names the topic the consumer treats it as from; only one the service reads will do.
        status = f"not replayable: {headers.get(ORIGINAL_TOPIC)!r} is not a topic the service consumes"
    else:
        status = "replay"
    return _Planned(_coordinates(record), status, headers.get("dlq_error_type"), original)


def _replay_headers(record: ConsumerRecord, headers: dict[str, str]) -> list[tuple[str, bytes]]:
    """The original record's headers, and where it was first read and which dead letter it replays."""
    kept = [(name, value) for name, value in record.headers if not name.startswith("dlq_")]
    return kept + [(name, headers[name].encode()) for name in (ORIGINAL_TOPIC, "dlq_original_partition",
                                                              "dlq_original_offset") if name in headers] \
        + [(REPLAY_OF, _coordinates(record).encode())]


async def replay_dead_letters(settings: Settings, service: str, selection: Selection | None = None, *,
                              dry_run: bool = False) -> int:
    """Send the selected dead letters not replayed before to the service's own retry topic, which it alone reads.

    Never to the topic they came from: every other consumer of that topic would get them again. A dead
    letter counts as replayed once the retry topic holds a record naming it (REPLAY_OF), so running
    this again, or after a failure half-way, sends nothing twice; the consumer's inbox drops an event
    that was applied meanwhile. The retry topic keeps its records at least as long as the dead-letter
    topic keeps the dead letters they name (both are written with the same retention).
    """
    settings = await _platform_broker(settings)
    selection = selection or Selection()
    topic, target = dead_letter_topic(service), retry_topic(service)
    consumed = set(topics_for(load_definition(service).handlers))
    consumer = _consumer(settings)
    await consumer.start()
    try:
        replayed = await _replayed(consumer, settings, service)
        if replayed is None:
            raise ReplayError(f"the topic {target} does not exist: run `schuldenlab topics` (and, on a cluster "
                              "with ACLs, `schuldenlab acls --apply`) first")
        partitions = await _assign_all(consumer, settings, topic)
        plan: list[_Planned] = []
        async for record in _read(consumer, partitions, selection):
            headers = _headers(record)
            if selection.admits(headers):
                plan.append(_plan(record, headers, replayed, consumed))
        due = {entry.coordinates for entry in plan if entry.status == "replay"}
        print(f"{len(plan)} dead letter(s) selected on {topic}: {len(due)} to replay to {service} ({target}), "
              f"{len(plan) - len(due)} not", file=sys.stderr, flush=True)
        sent = await _send(consumer, settings, partitions, selection, plan, due, target, dry_run=dry_run)
    finally:
        await consumer.stop()
    if dry_run:
        print(f"dry run: would replay {len(due)} dead letter(s) from {topic} to {target}; sent nothing",
              file=sys.stderr)
    else:
        print(f"replayed {sent} dead letter(s) from {topic} to {target}", file=sys.stderr)
    return 0


async def _send(consumer: AIOKafkaConsumer, settings: Settings, partitions: list[TopicPartition],
                selection: Selection, plan: list[_Planned], due: set[str], target: str, *, dry_run: bool) -> int:
    """Replay what is due, in order, printing one JSON line per selected dead letter as it is done."""
    def line(entry: _Planned, status: str, done: int | None = None) -> None:
        shown = {"dead_letter": entry.coordinates, "status": status, "error_type": entry.error_type,
                 "original": entry.original, "to": target}
        if done is not None:
            shown["progress"] = f"{done}/{len(due)}"
        print(json.dumps(shown), flush=True)

    if dry_run or not due:
        for entry in plan:
            line(entry, "would replay" if entry.status == "replay" else entry.status)
        return 0
    by_coordinates = {entry.coordinates: entry for entry in plan}
    producer = AIOKafkaProducer(**producer_options(settings, client_id="schuldenlab-dlq"))
    await producer.start()
    sent = 0
    try:
        # Read again rather than held from the first pass: a dead letter may be as large as 2 MiB.
        async for record in _read(consumer, partitions, selection):
            entry = by_coordinates.get(_coordinates(record))
            if entry is None:
                continue
            if entry.coordinates not in due:
                line(entry, entry.status)
                continue
            await producer.send_and_wait(target, value=record.value, key=record.key,
                                         headers=_replay_headers(record, _headers(record)))
            sent += 1
            line(entry, "replayed", sent)
    finally:
        await producer.stop()
    return sent
