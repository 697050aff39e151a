"""The catalogue feed on Apache Kafka: the log cleaner really compacts it, and a replica rebuilt from it is exact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schuldenlab_contracts.events import ImpactTotals, ImplementationStarted, ProjectHandedOver
from tests.integration.catalogue.catalogue_support import assessed, fold, kafka_pairs, send, submit
from tests.support.apache_kafka import KafkaCluster, admin_endpoint
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import kafka_options, read_to_end
from tests.support.load import measure

FEED = "catalogue.projects.v1"
# Segments roll after a second and are cleaned at once; tombstones go a second after cleaning.
CLEANER = {"segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0",
           "delete.retention.ms": "1000"}


async def _configure_feed(admin_options: dict) -> None:
    admin = AIOKafkaAdminClient(**admin_options)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, FEED, configs={
            "cleanup.policy": "compact", "min.insync.replicas": "2", **CLEANER})])  # AlterConfigs replaces all
    finally:
        await admin.close()


async def _catalogue_ids(catalogue) -> dict[str, str]:
    page = (await catalogue.client.get("/v1/catalogue", params={"limit": 100})).json()
    return {item["project_id"]: item["name"] for item in page["items"]}


async def test_the_feed_compacts_and_a_replica_rebuilt_from_it_is_exactly_the_catalogue(
        cluster: KafkaCluster, postgres_dsn, tmp_path):
    from schuldenlab.embedded.postgres import drop_database, ensure_database

    admin = admin_endpoint(cluster)
    await _configure_feed(kafka_options(admin))
    databases = [f"compaction_{name}_{uuid.uuid4().hex[:8]}" for name in ("catalogue", "partnering")]
    catalogue_db, partnering_db = (ensure_database(postgres_dsn, name) for name in databases)
    try:
        settings = service_settings(catalogue_db, admin, tmp_path, **cluster.services_env())
        now = datetime.now(UTC)
        async with running_service("catalogue", settings) as catalogue:
            projects = [await submit(catalogue, i % 4) for i in range(10)]
            for project_id in projects:
                await send(admin, assessed(project_id, "proven", decided_at=now))
            await eventually(lambda: _count_is(catalogue, 10), timeout=60)
            # Several states per key: adoption figures change four listed projects twice more.
            for project_id in projects[:4]:
                lab, implementation = uuid.uuid4(), uuid.uuid4()
                await send(admin, ImplementationStarted(
                    lab_id=lab, implementation_id=implementation, project_id=uuid.UUID(project_id),
                    municipalities=["Emmen"], started_at=now))
                await send(admin, ProjectHandedOver(
                    lab_id=lab, implementation_id=implementation, project_id=uuid.UUID(project_id),
                    handed_over_to=["Gemeente Emmen"], regular_operations="De gemeente voert het door.",
                    impact=ImpactTotals(households_reached=40, households_debt_free=31), handed_over_at=now))
            # Three leave the catalogue: two rejected on a second look, one withdrawn (tombstones).
            for project_id in projects[4:6]:
                await send(admin, assessed(project_id, "rejected", decided_at=now + timedelta(minutes=1)))
            assert (await catalogue.client.delete(f"/v1/projects/{projects[6]}",
                                                  headers=auth("operator"))).status_code == 200
            await eventually(lambda: _count_is(catalogue, 7), timeout=60)
            published = await eventually(lambda: _feed_settled(admin, catalogue), timeout=60)

            # The last segment is never cleaned: one more listing after segment.ms rolls it.
            await asyncio.sleep(1.5)
            late = await submit(catalogue, 1)
            await send(admin, assessed(late, "proven", decided_at=now))
            await eventually(lambda: _count_is(catalogue, 8), timeout=60)
            expected = await _catalogue_ids(catalogue)

            compacted = await eventually(lambda: _compacted(admin, late), timeout=90, interval=1.0)
            measure(f"catalogue feed: {_produced(compacted)} records published, {len(compacted)} left after "
                    f"compaction ({len(published)} when the catalogue had settled)")
            assert set(fold(kafka_pairs(compacted))) == set(expected)

        # A new partnering, with an empty database, rebuilds its replica from the compacted topic alone.
        async with running_service("partnering", service_settings(partnering_db, admin, tmp_path / "p",
                                                                  **cluster.services_env())) as partnering:
            async def replica():
                rows = await partnering.runtime.pool.fetch(
                    "SELECT project_id::text AS id, name FROM catalogue_replica WHERE status <> 'withdrawn'")
                return {r["id"]: r["name"] for r in rows} == expected and rows
            await eventually(replica, timeout=60)
            withdrawn = await partnering.runtime.pool.fetchval(
                "SELECT count(*) FROM catalogue_replica WHERE status = 'withdrawn'")
            assert withdrawn <= 3  # a tombstone still in the log leaves a 'withdrawn' row; a cleaned one none
    finally:
        for name in databases:
            drop_database(postgres_dsn, name)


async def _count_is(catalogue, n: int) -> bool:
    return len(await _catalogue_ids(catalogue)) == n


async def _feed_settled(admin, catalogue):
    """The feed's records once the relay has published everything the catalogue committed."""
    backlog = await catalogue.runtime.pool.fetchval("SELECT count(*) FROM outbox_pending")
    if backlog:
        return None
    return await read_to_end(admin, FEED)


def _produced(records) -> int:
    """How many records the partitions have ever held: offsets are never reused, so the highest one tells,
    however many the cleaner has removed (and however many the catalogue published after a count was taken)."""
    highest: dict[int, int] = {}
    for record in records:
        highest[record.partition] = max(record.offset, highest.get(record.partition, -1))
    return sum(offset + 1 for offset in highest.values())


async def _compacted(admin, last_key: str):
    """The feed's records once the last one is on it and the cleaner has removed some superseded ones."""
    records = await read_to_end(admin, FEED)
    arrived = any(r.key.decode() == last_key for r in records)
    return records if arrived and len(records) < _produced(records) else None
