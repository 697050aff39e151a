"""Reading the public catalogue: filters, Dutch full-text search, ETags and cursor pages under inserts."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.catalogue.catalogue_support import prove_directly, submit
from tests.support.harness import running_service, service_settings

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


async def test_paging_neither_skips_nor_repeats_projects_while_projects_are_added(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        before = set()
        for i in range(24):
            project_id = await submit(catalogue, i % 4, name=f"Project {i:02d}")
            await prove_directly(catalogue, project_id)
            before.add(project_id)

        added: list[str] = []
        stop = asyncio.Event()

        async def keep_adding() -> None:
            # Several writers at once, so listings commit concurrently while the reader pages.
            async def one(n: int) -> None:
                project_id = await submit(catalogue, n % 4, name=f"Nieuw {n}")
                await prove_directly(catalogue, project_id)
                added.append(project_id)

            n = 0
            while not stop.is_set():
                await asyncio.gather(*(one(n + k) for k in range(3)))
                n += 3

        writer = asyncio.create_task(keep_adding())
        seen: list[str] = []
        cursor = None
        try:
            while True:
                params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
                page = (await catalogue.client.get("/v1/catalogue", params=params)).json()
                seen.extend(item["project_id"] for item in page["items"])
                cursor = page["next_cursor"]
                if cursor is None or len(seen) >= 90:
                    break
                await asyncio.sleep(0)  # let the writers interleave with the reader
        finally:
            stop.set()
            await writer

        assert len(seen) == len(set(seen)), "a project was repeated"
        assert before <= set(seen), f"skipped: {before - set(seen)}"
        assert added, "the test added nothing while paging"
        # Every project listed before the last page was read is in the walk, new ones included.
        final = (await catalogue.client.get("/v1/catalogue", params={"limit": 100})).json()["items"]
        order = [item["project_id"] for item in final]
        assert seen == order[: len(seen)], "the walk is not a prefix of the catalogue's stable order"
