"""Benchmark: assessment's consumer beside a raw aiokafka consumer and a bare batched asyncpg consumer, in one run.

All three read the same kind of records (ProjectSubmitted, a few KiB, three partitions) from the embedded
broker into the embedded PostgreSQL, with the same fetch settings (fetch wait 50 ms, at
most SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS records per fetch):

* raw: an aiokafka consumer that only reads the records (no database): what the broker gives;
* bare batched (the anchor): per fetch one transaction writing the inbox rows and one effect row per record
  in two statements, then one offset commit: the least a correct batched consumer does;
* runtime: the runtime's consumer as every service runs it (FastStream, contract validation, the inbox, the
  batch's transaction) with the runtime tests' probe batch handler, one INSERT per run of a fetch: what the
  runtime itself costs, so that assessment's row beside it shows what its own domain and tables cost;
* assessment: the service's own consumer as it runs, the handler opening an assessment with an empty portfolio.

Each round writes fresh records; each consumer reads the round's records, timed from its first record to
its last (the group join, about a second on the embedded broker, is left out). The rounds interleave the
three, and the medians are compared (issue 13's target: assessment at least 0.1 of the bare batched one).

Run: .venv/bin/python -m benchmarks.consumer_throughput [--events N] [--rounds N] [--max-records N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics, service_topics
from schuldenlab.operations import topic_partitions
from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit.broker import ConsumerBatching
from servicekit.config import Settings
from servicekit.service import ServiceDefinition, ServiceRuntime, apply_migrations
from tests.integration.runtime import probe

TOPIC = "catalogue.project-submitted.v1"
FETCH_MAX_WAIT_MS = 50


def _submission(i: int) -> ProjectSubmitted:
    data = {k: v for k, v in KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)].items() if k != "contact"}
    return ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC),
                            **{**data, "name": f"{data['name']} {i}"})


async def _write_round(bootstrap: str, count: int) -> dict[TopicPartition, int]:
    """`count` fresh records, pipelined; returns where the round starts on each partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    await producer.start()
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await probe.start()
    try:
        starts = await probe.end_offsets(await topic_partitions({"bootstrap_servers": bootstrap}, TOPIC))
        sends = []
        for i in range(count):
            record = to_kafka_record(new_event(_submission(i)))
            sends.append(await producer.send(record.topic, value=record.value, key=record.key,
                                             headers=list(record.headers)))
        await asyncio.gather(*sends)
        return starts
    finally:
        await probe.stop()
        await producer.stop()


async def read_timed(bootstrap: str, group: str, starts: dict[TopicPartition, int], count: int, max_records: int,
                apply=None) -> float:
    """Records per second from the first fetch to the `count`-th record, read from `starts`; `apply(records)` per
    fetch, then one offset commit."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        seen, started = 0, None
        while seen < count:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=max_records)
            records = [r for chunk in fetched.values() for r in chunk]
            if not records:
                continue
            started = started or time.perf_counter()
            if apply is not None:
                await apply(records)
                await consumer.commit()
            seen += len(records)
        return count / max(time.perf_counter() - started, 1e-6)  # a tiny run may arrive in one fetch
    finally:
        await consumer.stop()


def _bare_batched(conn: asyncpg.Connection):
    async def apply(records) -> None:
        ids = [uuid.UUID(dict(r.headers)["ce_id"].decode()) for r in records]
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO inbox (event_id, topic, partition, "offset")
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::bigint[])
                   ON CONFLICT DO NOTHING""",
                ids, [r.topic for r in records], [r.partition for r in records], [r.offset for r in records])
            await conn.execute(
                "INSERT INTO effects (event_id, value_bytes) SELECT * FROM unnest($1::uuid[], $2::integer[])",
                ids, [len(r.value) for r in records])
    return apply


class TimedRuntime(ServiceRuntime):
    """The service's runtime, noting when its consumer got its first fetch and when it had applied `count`."""

    count = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.handled, self.first, self.last, self.done = 0, 0.0, 0.0, asyncio.Event()

    async def _handle(self, records):
        self.first = self.first or time.perf_counter()
        outcome = await super()._handle(records)
        self.handled += len(records)
        if self.handled >= self.count:
            self.last = time.perf_counter()
            self.done.set()
        return outcome


async def _service(definition: ServiceDefinition, settings: Settings, count: int) -> float:
    """Events per second of a service's consumer, from its first fetch to its `count`-th event."""
    runtime = TimedRuntime(definition, settings)
    runtime.count = count
    await runtime.start()
    try:
        await runtime.done.wait()
        return count / (runtime.last - runtime.first)
    finally:
        await runtime.stop()


async def run(events: int, rounds: int, max_records: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        bootstrap = kafka.bootstrap_servers
        await ensure_topics({"bootstrap_servers": bootstrap}, platform_topics() + service_topics(probe.NAME))
        service_dsn = ensure_database(pg.dsn, "bench_services")
        assessment, runtime = load_definition("assessment"), probe.definition(probe.Behaviour(batched=True))
        for definition in (assessment, runtime):
            await apply_migrations(service_dsn, definition)
        bare_dsn = ensure_database(pg.dsn, "bench_bare")
        bare = await asyncpg.connect(bare_dsn)
        await bare.execute("""CREATE TABLE inbox (event_id uuid PRIMARY KEY, topic text, partition integer,
                                                  "offset" bigint);
                              CREATE TABLE effects (event_id uuid, value_bytes integer)""")
        env = {"SCHULDENLAB_HOME": tmp, "SCHULDENLAB_DATABASE_URL": service_dsn,
               "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
               "SCHULDENLAB_JWT_SECRET": "benchmark-key-0123456789-0123456789", "SCHULDENLAB_LOG_LEVEL": "WARNING",
               "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "2000",
               "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": str(FETCH_MAX_WAIT_MS)}
        if max_records:
            env["SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS"] = max_records
        settings = Settings.from_env(env)
        max_records = ConsumerBatching.from_settings(settings).max_records
        rates: dict[str, list[float]] = {"raw aiokafka": [], "bare batched": [], "runtime": [], "assessment": []}
        try:
            for n in range(rounds):
                starts = await _write_round(bootstrap, events)
                rates["raw aiokafka"].append(await read_timed(bootstrap, f"raw-{n}", starts, events, max_records))
                rates["bare batched"].append(
                    await read_timed(bootstrap, f"bare-{n}", starts, events, max_records, _bare_batched(bare)))
                rates["runtime"].append(await _service(runtime, settings, events))
                rates["assessment"].append(await _service(assessment, settings, events))
        finally:
            await bare.close()
        medians = {name: statistics.median(values) for name, values in rates.items()}
        anchor = medians["bare batched"]
        print(f"ProjectSubmitted consumed, {events} events x {rounds} rounds, at most {max_records} per fetch, "
              f"fetch wait {FETCH_MAX_WAIT_MS} ms; median events/s")
        print(f"  {'consumer':<14} {'events/s':>10} {'ratio to bare batched':>22}")
        for name, rate in medians.items():
            print(f"  {name:<14} {rate:10,.0f} {rate / anchor:22.2f}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("faststream").setLevel(logging.WARNING)  # its access lines would drown the numbers
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-records", help="records per fetch (default: the runtime's default)")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.rounds, args.max_records))


if __name__ == "__main__":
    main()
