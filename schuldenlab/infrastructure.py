"""The database and broker the platform runs on: configured ones, or embedded ones in the state directory."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import TopicSpec
from schuldenlab.services import SERVICES
from schuldenlab.state import writable_home
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import dead_letter_topic, retry_topic
from servicekit.db import check_database
from servicekit.kafka import DEAD_LETTER_RECORD_MAX_BYTES, EVENT_RECORD_MAX_BYTES

DATABASE_NAME = "schuldenlab"


@dataclass(frozen=True)
class Infrastructure:
    database_url: str
    kafka_bootstrap_servers: str | None
    kafka_idempotence: bool
    embedded: tuple[str, ...]  # which parts run embedded, for the operator's summary


def platform_topics(partitions: int = 3) -> list[TopicSpec]:
    """Every event topic of the contracts, plus each service's dead-letter and retry topics.

    The size limits are explained at servicekit.kafka.EVENT_RECORD_MAX_BYTES: the dead-letter and
    retry topics take a little more than the event topics, so that any record an event topic accepted
    is dead-lettered and replayed whole.
    """
    limit = {"max.message.bytes": str(EVENT_RECORD_MAX_BYTES)}
    topics = [TopicSpec(spec.topic, partitions=partitions, compacted=spec.compacted, configs=limit)
              for spec in EVENTS]
    for service in SERVICES:
        topics += service_topics(service)
    return topics


def service_topics(service: str) -> list[TopicSpec]:
    """A service's own topics: its dead letters, and the retry topic `schuldenlab dlq replay` writes for it alone.

    One partition each: dead letters are few, and one partition keeps them (and their replay) in order.
    """
    limit = {"max.message.bytes": str(DEAD_LETTER_RECORD_MAX_BYTES)}
    return [TopicSpec(dead_letter_topic(service), partitions=1, configs=limit),
            TopicSpec(retry_topic(service), partitions=1, configs=limit)]


def service_database_urls(settings: Settings, platform_url: str,
                          services: tuple[str, ...] = SERVICES) -> dict[str, str]:
    """Each service's database: its own SCHULDENLAB_<SERVICE>_DATABASE_URL, else the platform's."""
    return {name: settings.for_service(name).database_url or platform_url for name in services}


async def check_configured_databases(settings: Settings, services: tuple[str, ...] = SERVICES) -> None:
    """Each configured database URL the services would use answers (one line naming its variable if not)."""
    checked: set[tuple[str, str]] = set()
    for name in services:
        own = settings.for_service(name)
        if own.database_url and (own.variable("DATABASE_URL"), own.database_url) not in checked:
            checked.add((own.variable("DATABASE_URL"), own.database_url))
            await check_database(own)


@contextlib.contextmanager
def embedded_database(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The configured database URL, else an embedded PostgreSQL kept in `$SCHULDENLAB_HOME/postgres`."""
    if settings.database_url:
        yield settings.database_url, False
        return
    writable_home(settings)
    server = EmbeddedPostgres(settings.home / "postgres", log_path=settings.home / "logs" / "postgres.log")
    server.start()
    try:
        yield ensure_database(server.dsn, DATABASE_NAME), True
    finally:
        server.stop()


@contextlib.contextmanager
def embedded_broker(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The configured Kafka, else an embedded Tansu broker (memory only: it forgets on restart)."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers, False
        return
    writable_home(settings)
    broker = EmbeddedKafka(log_path=settings.home / "logs" / "kafka.log")
    broker.start()
    try:
        yield broker.bootstrap_servers, True
    finally:
        broker.stop()
