"""GET /v1/labs in cursor pages on real PostgreSQL: every lab once with its own partners, bad cursors and limits."""

from __future__ import annotations

import pytest

from tests.integration.partnering.test_partnering_service import LAB, create_lab, join
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration


async def walk(client, limit: int, between_pages=None, headers=LAB) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        r = await client.get("/v1/labs", params={"limit": limit, **({"cursor": cursor} if cursor else {})},
                             headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        if between_pages is not None:
            await between_pages()


async def test_a_walk_sees_every_lab_once_with_its_own_partners_while_labs_are_added(fresh_database, fresh_kafka,
                                                                                   tmp_path):
    async with running_service("partnering", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        client = service.client
        labs = [await create_lab(client, f"Schuldenlab {i}") for i in range(7)]
        await join(client, labs[1]["id"], "Gemeente Schiedam", municipality=True)
        await join(client, labs[1]["id"], "Humanitas")
        await join(client, labs[5]["id"], "Eneco")
        added = []

        async def add_lab():
            added.append((await create_lab(client, f"Schuldenlab nieuw {len(added)}"))["id"])
            # One that sorts before the pages read so far: an OFFSET would then show a lab twice.
            added.append(await service.runtime.pool.fetchval(
                """INSERT INTO labs (id, name, municipalities, status, created_at)
                   VALUES (gen_random_uuid(), 'Schuldenlab vroeg', ARRAY['Delft'], 'forming',
                           (SELECT min(created_at) FROM labs) - interval '1 day') RETURNING id::text"""))

        pages = await walk(client, 3, add_lab, headers=auth("operator"))
        seen = [lab for page in pages for lab in page]
        ids = [lab["id"] for lab in seen]
        assert len(ids) == len(set(ids))
        assert {lab["id"] for lab in labs} <= set(ids) <= {lab["id"] for lab in labs} | set(added)
        assert all(len(page) <= 3 for page in pages)
        partners = {lab["id"]: lab["partner_count"] for lab in seen}
        assert [partners[lab["id"]] for lab in labs] == [0, 2, 0, 0, 0, 1, 0]


async def test_a_bad_cursor_or_limit_is_a_422_naming_it_and_the_default_page_is_50(fresh_database, fresh_kafka,
                                                                                tmp_path):
    async with running_service("partnering", service_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        client = service.client
        await create_lab(client)
        await service.runtime.pool.execute(
            """INSERT INTO labs (id, name, municipalities, status, created_at)
               SELECT gen_random_uuid(), 'Schuldenlab ' || i, ARRAY['Delft'], 'forming',
                      now() + make_interval(secs => i)
               FROM generate_series(1, 50) AS i""")
        first = (await client.get("/v1/labs", headers=LAB)).json()
        assert len(first["items"]) == 50 and first["next_cursor"]
        last = (await client.get("/v1/labs", params={"cursor": first["next_cursor"]}, headers=LAB)).json()
        assert [lab["name"] for lab in last["items"]] == ["Schuldenlab 50"] and last["next_cursor"] is None
        for params, field in (({"cursor": "bDE6NQ"}, "cursor"), ({"cursor": "x" * 40}, "cursor"),
                              ({"limit": 0}, "limit"), ({"limit": 201}, "limit")):
            r = await client.get("/v1/labs", params=params, headers=LAB)
            assert r.status_code == 422, (params, r.text)
            assert [e["field"] for e in r.json()["errors"]] == [field]
        assert (await client.get("/v1/labs", headers=auth("board"))).status_code == 200  # any platform role reads
        assert (await client.get("/v1/labs")).status_code == 401
