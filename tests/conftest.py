"""Shared fixtures: a PostgreSQL server and a Kafka broker, started lazily once per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the schemathesis run measured (operations, requests, failures, time per service) and what the
    fault tests and the Apache Kafka tier measured (start time, faults: lost / duplicated / recovery), at the end."""
    from tests.support import fuzzing, load

    if fuzzing.FIGURES:
        terminalreporter.section("schemathesis: the services against their OpenAPI documents")
        for line in fuzzing.summary():
            terminalreporter.write_line(line)
    if load.MEASURED:
        terminalreporter.section("faults and the Apache Kafka tier: measurements")
        for line in load.MEASURED:
            terminalreporter.write_line(line)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--apache-kafka", action="store_true",
                     help="run the broker tests on a three-broker Apache Kafka cluster with SASL and ACLs "
                          "(the tier `make test-kafka` runs) instead of one embedded broker per test")


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory):
    """The Apache Kafka cluster of this test session (started on first use, stopped at the end)."""
    from schuldenlab.services import SERVICES
    from tests.support.apache_kafka import KafkaCluster, prepare_platform
    from tests.support.load import measure

    cluster = KafkaCluster(tmp_path_factory.mktemp("apache-kafka"), services=SERVICES)
    try:
        cluster.start()
        measure(f"Apache Kafka cluster of {cluster.size} brokers (SASL, ACLs) up in {cluster.started_in:.1f} s")
        prepare_platform(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of the test server: $SCHULDENLAB_TEST_DATABASE_URL, else an embedded PostgreSQL."""
    external = os.environ.get("SCHULDENLAB_TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Imported here so that unit-only runs never load the server machinery.
    from schuldenlab.embedded.postgres import EmbeddedPostgres

    root = tmp_path_factory.mktemp("postgres")
    with EmbeddedPostgres(root / "data", log_path=root / "postgres.log") as server:
        yield server.dsn


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers: $SCHULDENLAB_TEST_KAFKA_BOOTSTRAP_SERVERS, else an embedded broker."""
    external = os.environ.get("SCHULDENLAB_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    from schuldenlab.embedded.kafka import EmbeddedKafka

    log_path = tmp_path_factory.mktemp("kafka") / "tansu.log"
    with EmbeddedKafka(log_path=log_path) as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def fresh_database(postgres_dsn: str) -> Iterator[str]:
    """DSN of a new, empty database for one test; dropped (WITH (FORCE)) afterwards."""
    from schuldenlab.embedded.postgres import drop_database, ensure_database

    name = f"test_{uuid.uuid4().hex}"
    dsn = ensure_database(postgres_dsn, name)
    try:
        yield dsn
    finally:
        drop_database(postgres_dsn, name)


@pytest.fixture
def fresh_kafka(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """A broker of its own for one test, with the platform's topics: no test sees another's events.

    With --apache-kafka: the session's cluster, its topics deleted and created anew for this test.
    """
    import asyncio

    if request.config.getoption("--apache-kafka"):
        from tests.support.apache_kafka import fresh_topics

        cluster = request.getfixturevalue("apache_kafka")
        yield asyncio.run(fresh_topics(cluster))
        return

    from schuldenlab.embedded.kafka import EmbeddedKafka
    from schuldenlab.embedded.topics import ensure_topics
    from schuldenlab.infrastructure import platform_topics

    with EmbeddedKafka(log_path=Path(tmp_path) / "tansu.log") as broker:
        asyncio.run(ensure_topics({"bootstrap_servers": broker.bootstrap_servers}, platform_topics()))
        yield broker.bootstrap_servers
