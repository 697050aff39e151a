"""Partnering reading a backlog of the catalogue feed on real PostgreSQL and a real broker: fetches applied at once
leave the replica current, stale records and tombstones included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import new_event, tombstone
from schuldenlab_contracts.events import CatalogueProject, Rating
from schuldenlab_contracts.registry import by_model
from servicekit.service import apply_migrations
from tests.integration.partnering.test_partnering_review_rules import put_on_feed
from tests.support.harness import eventually, running_service, service_settings

pytestmark = pytest.mark.integration


def record(project_id: uuid.UUID, at: datetime, revision: int, known: int = 0, level: str | None = None):
    dossier = {k: v for k, v in KNOWN_PROJECTS[known].items() if k != "contact"}
    rating = Rating(evidence_level=level, valid_until=at + timedelta(days=1095), status="current") if level else None
    return new_event(CatalogueProject(
        project_id=project_id, revision=revision, **{**dossier, "name": f"{dossier['name']} r{revision}"},
        assessment_id=uuid.uuid4(), decided_at=at, labs_implementing=[], handovers=0, municipalities=["Den Haag"],
        updated_at=at, rating=rating), time=at)


async def test_a_backlog_read_in_batches_leaves_each_project_as_its_newest_record_or_tombstone(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    t = datetime.now(UTC) - timedelta(hours=1)
    updated, withdrawn, kept, unknown = (uuid.uuid4() for _ in range(4))
    # An entry newer than anything the feed brings for it (as one written before the runtime kept feed positions):
    # the replica's own version keeps it.
    await apply_migrations(fresh_database, load_definition("partnering"))
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute("""INSERT INTO partnering.catalogue_replica
                                (project_id, name, status, revision, as_of, phases, evidence_level)
                              VALUES ($1, 'kept', 'proven', 7, $2, '{aftercare}', 'effective')""",
                           kept, t + timedelta(minutes=30))
        backlog = [record(updated, t, 1), record(withdrawn, t, 1, known=1, level="evaluated"),
                   record(updated, t + timedelta(minutes=1), 2, known=2, level="effective"),
                   tombstone(by_model(CatalogueProject), str(withdrawn), time=t + timedelta(minutes=2)),
                   record(kept, t + timedelta(minutes=3), 8),
                   tombstone(by_model(CatalogueProject), str(unknown), time=t)]
        backlog += [record(uuid.uuid4(), t, 1, known=n % len(KNOWN_PROJECTS)) for n in range(40)]
        for event in backlog:
            await put_on_feed(fresh_kafka, event)
        async with running_service("partnering", settings):
            await eventually(lambda: conn.fetchval("SELECT count(*) = $1 FROM partnering.inbox", len(backlog)))
        rows = {row["project_id"]: row for row in await conn.fetch("SELECT * FROM partnering.catalogue_replica")}
    finally:
        await conn.close()

    assert len(rows) == 44
    newest = backlog[2].data
    assert (rows[updated]["status"], rows[updated]["revision"], rows[updated]["name"]) == (
        "proven", 2, newest["name"])
    assert rows[updated]["phases"] == newest["phases"] and rows[updated]["evidence_level"] == "effective"
    # Withdrawn, keeping what the feed last showed of it (its phases still count for implementations under way).
    first = backlog[1].data
    assert (rows[withdrawn]["status"], rows[withdrawn]["revision"], rows[withdrawn]["name"]) == (
        "withdrawn", 1, first["name"])
    assert rows[withdrawn]["phases"] == first["phases"] and rows[withdrawn]["evidence_level"] == "evaluated"
    assert rows[withdrawn]["as_of"] == t + timedelta(minutes=2)
    assert (rows[kept]["name"], rows[kept]["revision"], rows[kept]["phases"]) == ("kept", 7, ["aftercare"])
    assert (rows[unknown]["status"], rows[unknown]["name"]) == ("withdrawn", "")
    others = [row for key, row in rows.items() if key not in (updated, withdrawn, kept, unknown)]
    assert all(row["status"] == "proven" and row["revision"] == 1 and row["phases"] for row in others)
