"""The embedded PostgreSQL server and Tansu broker that `schuldenlab up` and the tests run on."""

from __future__ import annotations

import signal
import stat
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schuldenlab.embedded.kafka import EmbeddedKafka, broker_answers
from schuldenlab.embedded.postgres import EmbeddedPostgres, drop_database, ensure_database
from schuldenlab.embedded.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Every postgres process (postmaster or backend) serving `data_dir`."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "cwd"]):
        if proc.info["name"] != "postgres":
            continue
        # Backends rename themselves, so match the working directory (the data dir) as well.
        if str(data_dir) in (proc.info["cmdline"] or []) or proc.info["cwd"] == str(data_dir):
            found.append(proc)
    return found


async def test_postgres_data_survives_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with EmbeddedPostgres(data_dir) as server:
        assert server.dsn.startswith("postgresql://postgres:") and "@127.0.0.1:" in server.dsn
        conn = await asyncpg.connect(server.dsn)
        await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, name text)")
        await conn.execute("INSERT INTO kept VALUES (1, 'Schuldhulpmaatje')")
        await conn.close()

    server = EmbeddedPostgres(data_dir)
    dsn = server.start()
    try:
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT name FROM kept WHERE id = 1") == "Schuldhulpmaatje"
        await conn.close()
    finally:
        server.stop()


async def test_embedded_postgres_lets_no_one_in_without_its_password(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with EmbeddedPostgres(data_dir) as server:
        password = server.password_file.read_text().strip()
        assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600 and len(password) >= 40
        without = server.dsn.replace(f":{quote(password, safe='')}@", "@")
        with pytest.raises(asyncpg.InvalidPasswordError):  # what any other user of the machine would try
            await asyncpg.connect(without)
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(server.dsn.replace(quote(password, safe=""), "wrong"))
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                                   "WHERE rolname = 'postgres'")
        await conn.close()


async def test_a_data_directory_from_before_passwords_gets_one(tmp_path: Path) -> None:
    """A cluster made when the embedded server trusted every local connection is closed at its next start."""
    data_dir = tmp_path / "data"
    with EmbeddedPostgres(data_dir):
        pass
    (data_dir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")  # as earlier versions wrote it
    data_dir.with_name("data.password").unlink()  # and no password was kept then
    with EmbeddedPostgres(data_dir) as server:
        assert "trust" not in (data_dir / "pg_hba.conf").read_text()
        password = server.password_file.read_text().strip()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(server.dsn.replace(f":{quote(password, safe='')}@", "@"))
        conn = await asyncpg.connect(server.dsn)
        await conn.close()


async def test_embedded_postgres_treats_accented_letters_as_word_characters(
    tmp_path: Path,
) -> None:
    with EmbeddedPostgres(tmp_path / "data") as server:
        conn = await asyncpg.connect(server.dsn)
        await conn.execute("CREATE EXTENSION pg_trgm")
        # Under a C ctype pg_trgm would drop the accented letters and find only "  n", " n ".
        assert len(await conn.fetchval("SELECT show_trgm('één')")) == 4
        assert await conn.fetchval("SELECT upper('één') = 'ÉÉN'")
        await conn.close()


def test_postgres_stop_leaves_no_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = EmbeddedPostgres(data_dir, log_path=tmp_path / "pg.log")
    server.start()
    assert postgres_processes(data_dir)
    server.stop()
    assert postgres_processes(data_dir) == []
    assert not (data_dir / "postmaster.pid").exists()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = server.dsn


async def test_postgres_recovers_from_a_killed_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = EmbeddedPostgres(data_dir)
    server.start()
    # Kill the whole server hard: postmaster.pid stays behind, naming a dead pid.
    for proc in postgres_processes(data_dir):
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(postgres_processes(data_dir), timeout=5)
    assert (data_dir / "postmaster.pid").exists()

    again = EmbeddedPostgres(data_dir)
    try:
        conn = await asyncpg.connect(again.start())
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        again.stop()
        server.stop()
    assert postgres_processes(data_dir) == []


def test_postgres_refuses_a_data_dir_in_use(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "data"), pytest.raises(RuntimeError, match="already serves"):
        EmbeddedPostgres(tmp_path / "data").start()


async def test_extensions_are_available(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        assert await conn.fetchval("SELECT unaccent('Gemeente Súdwest-Fryslân')") == (
            "Gemeente Sudwest-Fryslan"
        )
        assert await conn.fetchval("SELECT similarity('schuldhulp', 'schuldhulpverlening')") > 0.3
    finally:
        await conn.close()


async def test_ensure_database_is_idempotent(postgres_dsn: str) -> None:
    name = f"test_{uuid.uuid4().hex}"
    try:
        dsn = ensure_database(postgres_dsn, name)
        assert ensure_database(postgres_dsn, name) == dsn
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT current_database()") == name
        await conn.close()
    finally:
        drop_database(postgres_dsn, name)


def test_kafka_starts_and_stops_without_leftovers(tmp_path: Path) -> None:
    broker = EmbeddedKafka(log_path=tmp_path / "tansu.log")
    bootstrap = broker.start()
    host, port = bootstrap.split(":")
    assert host == "127.0.0.1" and broker_answers(host, int(port))
    pid = broker._proc.pid  # the real child, to check it is gone
    broker.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not broker_answers(host, int(port))
    broker.stop()  # idempotent


async def test_ensure_topics_creates_only_missing(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    specs = [
        TopicSpec(f"test.events-{suffix}.v1"),
        TopicSpec(f"test.feed-{suffix}.v1", partitions=1, compacted=True),
    ]
    assert sorted(await ensure_topics({"bootstrap_servers": kafka_bootstrap}, specs)) == sorted(s.name for s in specs)
    assert await ensure_topics({"bootstrap_servers": kafka_bootstrap}, specs) == []

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([s.name for s in specs])
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        assert partitions == {specs[0].name: 3, specs[1].name: 1}
        # All configs: Tansu drops the connection when DescribeConfigs names keys to filter on.
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, specs[1].name)]
        )
        entries = {e[0]: e[1] for e in response.resources[0][4]}
        assert entries.get("cleanup.policy") == "compact"
    finally:
        await admin.close()


async def test_message_round_trip_keeps_key_and_headers(kafka_bootstrap: str) -> None:
    topic = f"test.roundtrip-{uuid.uuid4().hex[:8]}.v1"
    await ensure_topics({"bootstrap_servers": kafka_bootstrap}, [TopicSpec(topic)])
    headers = [("ce_id", uuid.uuid4().hex.encode()), ("content-type", b"application/json")]

    # Tansu has no InitProducerId, so the idempotent producer must stay off.
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=False
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"n": 1}', key=b"project-1", headers=headers)
    finally:
        await producer.stop()

    # Assigned, not subscribed: a group join on Tansu waits half the session timeout.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, sent.partition)])
        batches = await consumer.getmany(timeout_ms=5000)
        [record] = [r for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    assert record.key == b"project-1"
    assert record.value == b'{"n": 1}'
    assert list(record.headers) == headers
