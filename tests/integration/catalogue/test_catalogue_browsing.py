"""Reading the public catalogue: filters, Dutch full-text search, ETags, cursor pages under concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.entrypoints import messages
from schuldenlab_contracts.cloudevents import new_event
from tests.integration.catalogue.catalogue_support import assessed, decide, prove_directly, submit
from tests.support.harness import eventually, running_service, service_settings

pytestmark = pytest.mark.integration

DUTCH = {
    "name": "Financiële Coaching voor Jongeren",
    "summary": "Jongeren met betalingsachterstanden krijgen een coach die hun financiële situatie ordent.",
    "problem": "Jongeren weten niet waar ze met hun schulden terechtkunnen.",
    "results": "Driekwart van de deelnemers is na een jaar schuldenvrij.",
    "themes": ["Jongeren", "Coaching"],
    "origin": {"organisation": "Schuldenlab Almelo", "municipality": "Almelo"},
}


async def test_filters_and_dutch_full_text_search_find_only_matching_proven_projects(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        ids = [await submit(catalogue, i) for i in range(4)]
        coaching = await submit(catalogue, 0, **DUTCH)
        unproven = await submit(catalogue, 2, name="Nog niet beoordeeld")
        for project_id in [*ids, coaching]:
            await prove_directly(catalogue, project_id)

        async def found(**params) -> list[str]:
            response = await catalogue.client.get("/v1/catalogue", params=params)
            assert response.status_code == 200, response.text
            return sorted(item["project_id"] for item in response.json()["items"])

        assert await found() == sorted([*ids, coaching]) and unproven not in await found()
        assert await found(phase="awareness") == [ids[2]]
        assert await found(phase="debt_reduction") == sorted([ids[0], ids[1], coaching])
        assert await found(theme="jongeren") == sorted([ids[0], coaching])  # case does not matter
        assert await found(municipality="almelo") == sorted([ids[3], coaching])
        assert await found(municipality="Almelo", theme="coaching") == [coaching]
        # Dutch stemming and accents: "financiele" finds "financiële", "schuld" finds "schulden".
        assert await found(q="financiele coach") == [coaching]
        assert await found(q="schuldenvrije deelnemer") == [coaching]
        assert await found(q="Schuldhulproute") == [ids[2]]
        assert await found(q="de het een") == []  # only stop words: nothing to search for
        assert await found(q="onbekendwoord") == []

        bad_phase = await catalogue.client.get("/v1/catalogue", params={"phase": "payday"})
        assert bad_phase.status_code == 422 and bad_phase.json()["errors"][0]["field"] == "phase"
        bad_cursor = await catalogue.client.get("/v1/catalogue", params={"cursor": "forged"})
        assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"


async def test_an_unchanged_catalogue_answers_304_to_its_etag_and_a_change_gives_a_new_one(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        await prove_directly(catalogue, await submit(catalogue, 0))
        first = await catalogue.client.get("/v1/catalogue")
        etag = first.headers["etag"]
        again = await catalogue.client.get("/v1/catalogue", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""

        await prove_directly(catalogue, await submit(catalogue, 1))
        changed = await catalogue.client.get("/v1/catalogue", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert len(changed.json()["items"]) == 2


async def _writer_b_committed_or_waiting_for_the_lock(catalogue, writer_b: asyncio.Task) -> bool:
    """True once writer B either committed or is blocked on a lock held by writer A (whichever the code does)."""
    if writer_b.done():
        return True
    waiting = await catalogue.runtime.pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'")
    return waiting > 0


@contextlib.asynccontextmanager
async def _listing_held_open_while_another_commits(catalogue):
    """Writer A lists a project and keeps its transaction open; writer B then lists another one.

    Yields (a, b, writer_b) while A is still open; A commits when the block ends. Without one order of
    commits (the advisory lock), B would commit first with a later position than A's.
    """
    a, b = await submit(catalogue, 1), await submit(catalogue, 2)
    a_in_transaction, release = asyncio.Event(), asyncio.Event()

    async def writer_a() -> None:
        async with catalogue.runtime.transaction() as uow:
            payload = assessed(a, "proven")
            await messages.on_project_assessed(payload, new_event(payload), uow)
            a_in_transaction.set()
            await release.wait()

    task_a = asyncio.create_task(writer_a())
    await a_in_transaction.wait()
    task_b = asyncio.create_task(decide(catalogue, b, "proven"))
    try:
        await eventually(lambda: _writer_b_committed_or_waiting_for_the_lock(catalogue, task_b))
        yield a, b, task_b
    finally:
        release.set()
        await asyncio.gather(task_a, task_b)


async def test_a_reader_paging_the_catalogue_never_skips_a_listing_that_commits_late(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        first = await submit(catalogue, 0)
        await prove_directly(catalogue, first)
        seen: list[str] = []
        async with _listing_held_open_while_another_commits(catalogue):
            cursor = None
            while True:  # a whole walk, one item per page, while A is still open
                page = (await catalogue.client.get(
                    "/v1/catalogue", params={"limit": 1, **({"cursor": cursor} if cursor else {})})).json()
                seen.extend(item["project_id"] for item in page["items"])
                if (cursor := page["next_cursor"]) is None:
                    break
        order = [i["project_id"] for i in (await catalogue.client.get("/v1/catalogue")).json()["items"]]
        assert len(order) == 3
        # Whatever the walk saw is a prefix of the final order: nothing was slipped in behind the reader.
        assert seen == order[: len(seen)], f"walk {seen} skipped something of {order}"


async def test_a_reader_polling_the_changes_never_misses_a_change_that_commits_late(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        first = await submit(catalogue, 0)
        await prove_directly(catalogue, first)
        seen: list[str] = []
        async with _listing_held_open_while_another_commits(catalogue) as (a, b, _):
            page = (await catalogue.client.get("/v1/catalogue/changes")).json()
            seen.extend(c["project_id"] for c in page["items"])
            cursor = page["next_cursor"]
        page = (await catalogue.client.get("/v1/catalogue/changes", params={"after": cursor})).json()
        seen.extend(c["project_id"] for c in page["items"])
        assert sorted(seen) == sorted([first, a, b]), "a change was missed by the polling reader"


async def test_a_project_listed_again_is_not_shown_twice_to_a_paging_client(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        now = datetime.now(UTC)
        a, b = await submit(catalogue, 0), await submit(catalogue, 1)
        await decide(catalogue, a, "proven", decided_at=now)
        await decide(catalogue, b, "proven", decided_at=now)
        first = (await catalogue.client.get("/v1/catalogue", params={"limit": 1})).json()
        assert [i["project_id"] for i in first["items"]] == [a]
        await decide(catalogue, a, "rejected", decided_at=now + timedelta(minutes=1))
        await decide(catalogue, a, "proven", decided_at=now + timedelta(minutes=2))
        second = (await catalogue.client.get("/v1/catalogue",
                                             params={"limit": 5, "cursor": first["next_cursor"]})).json()
        assert [i["project_id"] for i in second["items"]] == [b]
        everything = (await catalogue.client.get("/v1/catalogue")).json()["items"]
        assert [i["project_id"] for i in everything] == [a, b]
