"""The outbox relay against real PostgreSQL and a real broker: nothing lost, nothing skipped, order per key."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import KafkaRecord, to_kafka_record
from servicekit import outbox
from servicekit.db import advisory_lock_key, connect, create_pool
from servicekit.migrate import migrate, runtime_migrations
from servicekit.outbox import OutboxRelay
from servicekit.service import apply_migrations
from tests.integration.runtime.support import event_for
from tests.support.harness import running_service, service_settings
from tests.support.kafka import kafka_options, read_topic

pytestmark = pytest.mark.integration

TOPIC = "catalogue.project-submitted.v1"


@pytest.fixture
async def catalogue_db(fresh_database):
    await apply_migrations(fresh_database, load_definition("catalogue"))
    return fresh_database


async def append_committed(dsn: str, event) -> None:
    conn = await connect(dsn, "catalogue")
    try:
        async with conn.transaction():
            await outbox.append(conn, event, schema="catalogue")
    finally:
        await conn.close()


class KafkaPublish:
    """The relay's publish function with a plain aiokafka producer."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all")

    async def __call__(self, record: KafkaRecord) -> None:
        await self.producer.send_and_wait(record.topic, value=record.value, key=record.key,
                                          headers=list(record.headers))


async def test_an_event_committed_just_before_a_crash_is_published_when_the_service_comes_back(
        catalogue_db, fresh_kafka, tmp_path):
    # The state change and its event committed, then the process died before the relay ran.
    event = event_for("Na de crash")
    await append_committed(catalogue_db, event)
    settings = service_settings(catalogue_db, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings):
        [record] = await read_topic(fresh_kafka, TOPIC, expect=1)
    assert dict(record.headers)["ce_id"].decode() == event.id
    assert record.key == event.subject.encode()
    # The value is the contracts' own encoding, byte for byte: the outbox keeps the JSON text as written.
    assert record.value == to_kafka_record(event).value


async def test_a_failed_publish_is_retried_without_losing_the_event(catalogue_db, fresh_kafka):
    event = event_for("Broker even weg")
    await append_committed(catalogue_db, event)
    pool = await create_pool(catalogue_db, "catalogue")
    publish = KafkaPublish(fresh_kafka)
    await publish.producer.start()
    try:
        async def broker_down(record: KafkaRecord) -> None:
            raise ConnectionError("broker unreachable")

        assert await OutboxRelay(pool, broker_down, schema="catalogue").publish_pending() == 0
        row = await pool.fetchrow("SELECT attempts, last_error FROM outbox_pending")  # still owed, with why
        assert row["attempts"] == 1 and "broker unreachable" in row["last_error"]

        await pool.execute("UPDATE outbox_pending SET next_attempt_at = now() - interval '1 second'")  # backoff elapsed
        assert await OutboxRelay(pool, publish, schema="catalogue").publish_pending() == 1
    finally:
        await publish.producer.stop()
        await pool.close()
    [record] = await read_topic(fresh_kafka, TOPIC, expect=1)
    assert dict(record.headers)["ce_id"].decode() == event.id


async def test_rows_committed_out_of_sequence_order_are_all_published(catalogue_db, fresh_kafka):
    slow, fast = event_for("Langzaam"), event_for("Snel")
    pool = await create_pool(catalogue_db, "catalogue")
    publish = KafkaPublish(fresh_kafka)
    await publish.producer.start()
    relay = OutboxRelay(pool, publish, schema="catalogue")
    slow_conn = await connect(catalogue_db, "catalogue")
    try:
        slow_tx = slow_conn.transaction()
        await slow_tx.start()
        await outbox.append(slow_conn, slow, schema="catalogue")  # takes the lower sequence number...
        await append_committed(catalogue_db, fast)                # ...but commits after this one
        assert await relay.publish_pending() == 1
        await slow_tx.commit()
        assert await relay.publish_pending() == 1                  # a high-water mark would skip it
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == 0
    finally:
        await slow_conn.close()
        await publish.producer.stop()
        await pool.close()
    records = await read_topic(fresh_kafka, TOPIC, expect=2)
    assert {dict(r.headers)["ce_id"].decode() for r in records} == {slow.id, fast.id}


async def test_the_relay_keeps_order_per_key_when_a_publish_fails(catalogue_db):
    key = uuid.uuid4()
    first, second, other = event_for("Eerste", key), event_for("Tweede", key), event_for("Ander")
    for event in (first, second, other):
        await append_committed(catalogue_db, event)
    published: list[str] = []
    failures = {first.id}

    async def flaky(record: KafkaRecord) -> None:
        ce_id = dict(record.headers)["ce_id"].decode()
        if ce_id in failures:
            failures.discard(ce_id)
            raise ConnectionError("transient")
        published.append(ce_id)

    pool = await create_pool(catalogue_db, "catalogue")
    try:
        relay = OutboxRelay(pool, flaky, schema="catalogue")
        await relay.publish_pending()
        assert published == [other.id]  # the key's later row waits behind its failed earlier row
        await relay.publish_pending()
        assert published == [other.id]  # still backing off
        await pool.execute("UPDATE outbox_pending SET next_attempt_at = now() - interval '1 second'")
        await relay.publish_pending()
    finally:
        await pool.close()
    assert published == [other.id, first.id, second.id]


async def test_two_relays_on_one_schema_publish_each_row_once(catalogue_db):
    events = [event_for(f"Project {i}") for i in range(40)]
    for event in events:
        await append_committed(catalogue_db, event)
    published: list[str] = []

    async def slow_publish(record: KafkaRecord) -> None:
        await asyncio.sleep(0.001)
        published.append(dict(record.headers)["ce_id"].decode())

    pool = await create_pool(catalogue_db, "catalogue")
    try:
        relays = [OutboxRelay(pool, slow_publish, schema="catalogue") for _ in range(2)]
        await asyncio.gather(*(r.publish_pending() for r in relays))
        await asyncio.gather(*(r.publish_pending() for r in relays))
    finally:
        await pool.close()
    assert sorted(published) == sorted(e.id for e in events)


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll_interval(catalogue_db):
    published = asyncio.Event()

    async def publish(record: KafkaRecord) -> None:
        published.set()

    pool = await create_pool(catalogue_db, "catalogue")
    relay = OutboxRelay(pool, publish, schema="catalogue", poll_interval=60, dsn=catalogue_db)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.5)  # the relay has done its first pass and is waiting (for up to 60 s)
        await append_committed(catalogue_db, event_for("Gewekt"))
        await asyncio.wait_for(published.wait(), timeout=5)  # only NOTIFY can be this quick
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()


async def test_stopping_the_relay_in_the_middle_of_a_pass_publishes_each_row_once(catalogue_db):
    published: list[str] = []
    publishing = asyncio.Event()

    async def slow_publish(record: KafkaRecord) -> None:
        publishing.set()
        await asyncio.sleep(0.3)  # the stop arrives while this row is on its way
        published.append(dict(record.headers)["ce_id"].decode())

    event = event_for("Tijdens het stoppen")
    pool = await create_pool(catalogue_db, "catalogue")
    relay = OutboxRelay(pool, slow_publish, schema="catalogue", poll_interval=60, dsn=catalogue_db)
    task = asyncio.create_task(relay.run())
    try:
        await append_committed(catalogue_db, event)
        await publishing.wait()
        relay.stop()
        async with asyncio.timeout(5):
            await task
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending") == 0
    finally:
        task.cancel()
        await pool.close()
    assert published == [event.id]


async def test_the_relays_record_is_the_contracts_record_of_the_event_byte_for_byte(catalogue_db):
    # The relay builds headers from the row's columns (no CloudEvent per row): the record must not differ at all.
    traced = dataclasses.replace(event_for("Met spoor"), traceparent=f"00-{'ab' * 16}-{'cd' * 8}-01",
                                 tracestate="vendor=1")
    events = [traced, event_for("Zonder spoor")]
    for event in events:
        await append_committed(catalogue_db, event)
    sent: list[KafkaRecord] = []

    async def publish(record: KafkaRecord) -> None:
        sent.append(record)

    pool = await create_pool(catalogue_db, "catalogue")
    try:
        assert await OutboxRelay(pool, publish, schema="catalogue").publish_pending() == 2
    finally:
        await pool.close()
    assert sent == [to_kafka_record(event) for event in events]


async def test_acknowledgements_that_fail_later_hold_back_their_key_across_batches(catalogue_db):
    # The producer's way: the send returns at once, the acknowledgement (or its failure) comes later. Batches of
    # two rows, so the key's rows are in several batches, read while the earlier ones are still on their way.
    key = uuid.uuid4()
    keyed = [event_for(f"Reeks {i}", key) for i in range(4)]
    others = [event_for(f"Ander {i}") for i in range(4)]
    for event in [keyed[0], others[0], keyed[1], others[1], keyed[2], others[2], keyed[3], others[3]]:
        await append_committed(catalogue_db, event)
    published: list[str] = []
    failures = {keyed[1].id}

    async def publish(record: KafkaRecord) -> asyncio.Future[None]:
        ce_id = dict(record.headers)["ce_id"].decode()
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def answer() -> None:
            if ce_id in failures:
                failures.discard(ce_id)
                acknowledged.set_exception(ConnectionError("not acknowledged"))
            else:
                published.append(ce_id)
                acknowledged.set_result(None)

        asyncio.get_running_loop().call_later(0.01, answer)
        return acknowledged

    pool = await create_pool(catalogue_db, "catalogue")
    try:
        relay = OutboxRelay(pool, publish, schema="catalogue", batch_size=2)
        assert await relay.publish_pending() == 5
        assert sorted(published) == sorted([keyed[0].id, *(e.id for e in others)])
        failed = await pool.fetchrow("SELECT p.attempts, p.last_error FROM outbox_pending AS p JOIN outbox AS o "
                                     "USING (seq) WHERE o.event_id = $1", uuid.UUID(keyed[1].id))
        assert failed["attempts"] == 1 and "not acknowledged" in failed["last_error"]
        # The key's later rows were neither sent nor counted as failed: they wait behind the failed one.
        assert await pool.fetchval("SELECT count(*) FROM outbox_pending WHERE attempts = 0") == 2
        await pool.execute("UPDATE outbox_pending SET next_attempt_at = now() - interval '1 second'")
        assert await relay.publish_pending() == 3
        # The lock is free for another replica's relay (a session of its own: a session may take its own lock again).
        other = await connect(catalogue_db, "catalogue")
        try:
            assert await other.fetchval("SELECT pg_try_advisory_lock($1)", advisory_lock_key("outbox.catalogue"))
        finally:
            await other.close()
    finally:
        await pool.close()
    assert [ce_id for ce_id in published if ce_id in {e.id for e in keyed}] == [e.id for e in keyed]
    assert sorted(published) == sorted(e.id for e in keyed + others)  # each row once


async def test_an_upgrade_to_0008_owes_exactly_the_rows_not_published_before(fresh_database):
    # The outbox as the version before 0008 left it: one row published, one failed once and not yet published.
    before = [m for m in runtime_migrations() if m.version < 8]
    conn = await asyncpg.connect(fresh_database)
    try:
        await migrate(conn, "catalogue", before)
        sent, owed = event_for("Verstuurd"), event_for("Nog niet")
        for event, published in ((sent, True), (owed, False)):
            await conn.execute(
                """INSERT INTO catalogue.outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload,
                                                 published_at, attempts, last_error)
                   VALUES ($1, $2, $3, $4, $5, $6, '{}'::json, CASE WHEN $7 THEN now() END,
                           CASE WHEN $7 THEN 0 ELSE 1 END, CASE WHEN $7 THEN NULL ELSE 'broker gone' END)""",
                uuid.UUID(event.id), TOPIC, event.subject, event.type, event.source, event.time, published)
        await apply_migrations(fresh_database, load_definition("catalogue"))
        pending = await conn.fetch("""SELECT o.event_id, p.attempts, p.last_error
                                      FROM catalogue.outbox_pending AS p JOIN catalogue.outbox AS o USING (seq)""")
        assert [(str(r["event_id"]), r["attempts"], r["last_error"]) for r in pending] == [(owed.id, 1, "broker gone")]
        # A writer that knows nothing of outbox_pending (a replica of the version before, during a rolling
        # upgrade) still leaves a row the relay owes: the trigger adds it.
        late = event_for("Oude replica")
        seq = await conn.fetchval(
            """INSERT INTO catalogue.outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)
               VALUES ($1, $2, $3, $4, $5, $6, '{}'::json) RETURNING seq""",
            uuid.UUID(late.id), TOPIC, late.subject, late.type, late.source, late.time)
        assert await conn.fetchval("SELECT count(*) FROM catalogue.outbox_pending WHERE seq = $1", seq) == 1
    finally:
        await conn.close()
