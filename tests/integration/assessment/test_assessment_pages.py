"""GET /v1/assessments in cursor pages on real PostgreSQL: every round once, the status filter, bad cursors, limits."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from assessment.entrypoints import messages
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import ProjectSubmitted
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration

BOARD = auth("board", "bestuurder-1")


def b64decode(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def b64encode(*parts: str) -> str:
    return base64.urlsafe_b64encode(":".join(parts).encode()).decode().rstrip("=")


async def open_rounds(service, count: int) -> list[str]:
    """`count` rounds opened as a ProjectSubmitted opens them (the consumer's handler, one unit of work each)."""
    opened = []
    for i in range(count):
        data = {k: v for k, v in KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)].items() if k != "contact"}
        payload = ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC), **data)
        async with service.runtime.transaction() as uow:
            await messages.on_project_submitted(payload, new_event(payload), uow)
        opened.append(await service.runtime.pool.fetchval(
            "SELECT id::text FROM assessments WHERE project_id = $1", payload.project_id))
    return opened


async def round_before_all_others(service) -> str:
    """A round whose opened_at sorts before every other: it lands on a page already read."""
    return await service.runtime.pool.fetchval(
        """INSERT INTO assessments (id, project_id, revision, status, dossier, prescreen, fit, opened_at)
           SELECT gen_random_uuid(), gen_random_uuid(), 1, 'open', dossier, prescreen, fit,
                  (SELECT min(opened_at) FROM assessments) - interval '1 day'
           FROM assessments LIMIT 1 RETURNING id::text""")


async def walk(client, query: str, limit: int, between_pages=None) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        params = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = await client.get(f"/v1/assessments?{params}", headers=BOARD)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        if between_pages is not None:
            await between_pages()


async def test_a_walk_sees_every_round_once_while_rounds_are_added_meanwhile(fresh_database, fresh_kafka, tmp_path):
    async with running_service("assessment", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        existing = await open_rounds(service, 12)
        added: list[str] = []

        async def add_rounds():
            # One that sorts before the pages read so far (an OFFSET would then show a row twice) and one after.
            added.append(await round_before_all_others(service))
            added.extend(await open_rounds(service, 1))

        pages = await walk(service.client, "status=open", 5, add_rounds)
        seen = [a["id"] for page in pages for a in page]
        assert len(seen) == len(set(seen))  # nothing twice
        assert set(existing) <= set(seen) <= set(existing) | set(added)  # everything there at the start, once
        assert all(len(page) <= 5 for page in pages) and len(pages) >= 3
        assert [(a["opened_at"], a["id"]) for a in pages[0]] == sorted((a["opened_at"], a["id"]) for a in pages[0])


async def test_the_status_filter_holds_on_every_page(fresh_database, fresh_kafka, tmp_path):
    async with running_service("assessment", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        rounds = await open_rounds(service, 9)
        superseded = set(rounds[::3])
        await service.runtime.pool.execute("UPDATE assessments SET status = 'superseded' WHERE id = ANY($1::uuid[])",
                                           list(superseded))
        open_pages = await walk(service.client, "status=open", 2)
        assert sorted(a["id"] for page in open_pages for a in page) == sorted(set(rounds) - superseded)
        assert {a["status"] for page in open_pages for a in page} == {"open"}
        superseded_pages = await walk(service.client, "status=superseded", 2)
        assert sorted(a["id"] for page in superseded_pages for a in page) == sorted(superseded)
        everything = await walk(service.client, "", 4)
        assert sorted(a["id"] for page in everything for a in page) == sorted(rounds)


async def test_the_default_page_is_50_and_the_last_page_says_so(fresh_database, fresh_kafka, tmp_path):
    async with running_service("assessment", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        rounds = await open_rounds(service, 51)
        first = (await service.client.get("/v1/assessments", headers=BOARD)).json()
        assert len(first["items"]) == 50 and first["next_cursor"]
        last = (await service.client.get(f"/v1/assessments?cursor={first['next_cursor']}", headers=BOARD)).json()
        assert [a["id"] for a in last["items"]] == [r for r in rounds if r not in {a["id"] for a in first["items"]}]
        assert last["next_cursor"] is None


async def test_a_cursor_not_issued_by_this_list_or_a_limit_out_of_range_is_a_422_naming_it(fresh_database,
                                                                                         fresh_kafka, tmp_path):
    async with running_service("assessment", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        await open_rounds(service, 3)
        page = (await service.client.get("/v1/assessments?limit=1", headers=BOARD)).json()
        kind, micros, row_id = b64decode(page["next_cursor"]).split(":")
        assert kind == "as1"
        for query, field in ((f"cursor={b64encode('lb1', micros, row_id)}", "cursor"),  # the labs' kind
                             (f"cursor={b64encode(kind, '+' + micros, row_id)}", "cursor"),  # not as written
                             (f"cursor={b64encode(kind, micros, row_id.upper())}", "cursor"),
                             (f"cursor={b64encode(kind, '9' * 19, row_id)}", "cursor"),  # no such time
                             ("cursor=bDE6NQ", "cursor"),  # a catalogue cursor
                             ("cursor=not*base64", "cursor"),
                             ("limit=0", "limit"), ("limit=201", "limit"), ("limit=many", "limit")):
            r = await service.client.get(f"/v1/assessments?{query}", headers=BOARD)
            assert r.status_code == 422, (query, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in r.json()["errors"]] == [field], query
        assert (await service.client.get("/v1/assessments?limit=200", headers=BOARD)).status_code == 200
