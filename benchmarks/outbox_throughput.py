"""Benchmark: outbox relay and consumer throughput on an embedded PostgreSQL and an embedded broker.

Run: .venv/bin/python -m benchmarks.outbox_throughput [events]
Prints events/s for (1) the relay publishing committed outbox rows to Kafka and (2) the assessment
service consuming them (contract validation, inbox row and effect in one transaction each).
"""

from __future__ import annotations

import asyncio
import sys
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
from schuldenlab_contracts.cloudevents import KafkaRecord, new_event
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit import outbox
from servicekit.config import Settings
from servicekit.db import create_pool
from servicekit.outbox import OutboxRelay
from servicekit.service import ServiceRuntime, apply_migrations


def _event():
    dossier = {k: v for k, v in KNOWN_PROJECTS[0].items() if k != "contact"}
    return new_event(ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC), **dossier))


async def main(count: int, database_url: str, bootstrap: str, home: Path) -> None:
    await ensure_topics({"bootstrap_servers": bootstrap}, platform_topics())
    await apply_migrations(database_url, load_definition("catalogue"))
    pool = await create_pool(database_url, "catalogue", max_size=4)
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(count):
            await outbox.append(conn, _event(), schema="catalogue")

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=2)
    await producer.start()

    async def publish(record: KafkaRecord) -> None:
        await producer.send_and_wait(record.topic, value=record.value, key=record.key, headers=list(record.headers))

    started = time.perf_counter()
    published = await OutboxRelay(pool, publish, schema="catalogue").publish_pending()
    relay_seconds = time.perf_counter() - started
    await producer.stop()
    await pool.close()
    print(f"relay:    {published} events in {relay_seconds:.2f} s = {published / relay_seconds:,.0f} events/s")

    env = {"SCHULDENLAB_HOME": str(home), "SCHULDENLAB_DATABASE_URL": database_url,
           "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
           "SCHULDENLAB_JWT_SECRET": "benchmark-key-0123456789-0123456789", "SCHULDENLAB_LOG_LEVEL": "WARNING",
           "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "2000", "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": "50"}
    runtime = ServiceRuntime(load_definition("assessment"), Settings.from_env(env))
    started = time.perf_counter()
    await runtime.start()
    try:
        while await runtime.pool.fetchval("SELECT count(*) FROM inbox") < count:
            await asyncio.sleep(0.05)
        consume_seconds = time.perf_counter() - started
    finally:
        await runtime.stop()
    print(f"consumer: {count} events in {consume_seconds:.2f} s (incl. ~1 s group join) "
          f"= {count / consume_seconds:,.0f} events/s")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg, EmbeddedKafka() as kafka:
        asyncio.run(main(events, ensure_database(pg.dsn, "bench"), kafka.bootstrap_servers, Path(tmp)))
