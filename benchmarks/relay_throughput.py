"""Benchmark: the outbox relay beside raw aiokafka pipelined produce of the same records, in one run.

The relay publishes committed outbox rows of the catalogue schema (ProjectSubmitted, a few KiB, a new key
each) through the service's own publish path: its FastStream broker and publisher objects, with the
runtime's producer settings (acks=all). The anchor sends the same records with a plain aiokafka producer
of the same settings, all at once, then waits for every acknowledgement. Both against the embedded
PostgreSQL and the embedded broker; the rounds interleave the two and the medians are compared (issue 13's
target: the relay at least 0.6 of the raw produce).

Run: .venv/bin/python -m benchmarks.relay_throughput [--events N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import CloudEvent, new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit import outbox
from servicekit.broker import Publishers, create_broker
from servicekit.config import Settings
from servicekit.db import create_pool
from servicekit.kafka import producer_options
from servicekit.outbox import OutboxRelay
from servicekit.service import apply_migrations


def _events(count: int) -> list[CloudEvent]:
    events = []
    for i in range(count):
        data = {k: v for k, v in KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)].items() if k != "contact"}
        events.append(new_event(ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC),
                                                 **{**data, "name": f"{data['name']} {i}"})))
    return events


def _collect_garbage() -> None:
    # The events made just before a timed part leave garbage behind; a full collection it set off would pause
    # whichever side happened to be running then (60-70 ms here, a fifth of a round) and decide the ratio.
    gc.collect()


async def _relay(pool, publishers: Publishers, count: int) -> float:
    async with pool.acquire() as conn, conn.transaction():
        for event in _events(count):
            await outbox.append(conn, event, schema="catalogue")
    _collect_garbage()
    started = time.perf_counter()
    published = await OutboxRelay(pool, publishers.publish_record, schema="catalogue").publish_pending()
    assert published == count, (published, count)
    return count / (time.perf_counter() - started)


async def _raw(producer: AIOKafkaProducer, count: int) -> float:
    records = [to_kafka_record(event) for event in _events(count)]
    _collect_garbage()
    started = time.perf_counter()
    sends = [await producer.send(r.topic, value=r.value, key=r.key, headers=list(r.headers)) for r in records]
    await asyncio.gather(*sends)
    return count / (time.perf_counter() - started)


async def run(events: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        bootstrap = kafka.bootstrap_servers
        await ensure_topics({"bootstrap_servers": bootstrap}, platform_topics())
        dsn = ensure_database(pg.dsn, "bench_relay")
        await apply_migrations(dsn, load_definition("catalogue"))
        settings = Settings.from_env({"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                      "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false"})
        broker = create_broker(settings, "catalogue")
        publishers = Publishers(broker, "catalogue")
        await broker.connect()
        producer = AIOKafkaProducer(**producer_options(settings))
        await producer.start()
        pool = await create_pool(dsn, "catalogue", max_size=4)
        rates: dict[str, list[float]] = {"raw aiokafka": [], "relay": []}
        try:
            await _raw(producer, min(events, 200))  # connections and metadata warm for both
            await _relay(pool, publishers, min(events, 200))
            for _ in range(rounds):
                rates["raw aiokafka"].append(await _raw(producer, events))
                rates["relay"].append(await _relay(pool, publishers, events))
        finally:
            await pool.close()
            await producer.stop()
            await broker.stop()
        medians = {name: statistics.median(values) for name, values in rates.items()}
        anchor = medians["raw aiokafka"]
        print(f"ProjectSubmitted published, {events} events x {rounds} rounds (acks=all, the runtime's producer "
              "settings); median events/s")
        print(f"  {'publisher':<14} {'events/s':>10} {'ratio to raw produce':>21}")
        for name, rate in medians.items():
            print(f"  {name:<14} {rate:10,.0f} {rate / anchor:21.2f}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("faststream").setLevel(logging.WARNING)  # its lines would drown the numbers
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.rounds))


if __name__ == "__main__":
    main()
