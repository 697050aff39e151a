"""Notifications' lists in cursor pages on real PostgreSQL: subscriptions, a subscription's deliveries and the events
received, each seen once per walk while rows are added, with their filters, and bad cursors and limits refused."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.notifications.notifications_support import subscribe, webhook_settings
from tests.support.harness import auth, running_service

pytestmark = pytest.mark.integration

OPERATOR = auth("operator")


async def walk(client, path: str, limit: int, headers, between_pages=None) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        r = await client.get(path, params={"limit": limit, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        if between_pages is not None:
            await between_pages()


def flat(pages: list[list[dict]], key: str = "id") -> list[str]:
    return [item[key] for page in pages for item in page]


async def add_events(pool, count: int, *, newest: bool = True) -> list[str]:
    """Received events, each a microsecond-distinct moment newer (or older) than every one so far."""
    made = []
    for _ in range(count):
        made.append(await pool.fetchval(
            f"""INSERT INTO received_events (event_id, ce_type, subject, source, time, data, received_at)
                VALUES (gen_random_uuid(), 'nl.schuldenlab.lab.formed.v1', 'lab', '/schuldenlab/partnering', now(),
                        '{{}}'::jsonb, (SELECT coalesce({'max' if newest else 'min'}(received_at), clock_timestamp())
                                        FROM received_events) + interval '{'' if newest else '-'}1 millisecond')
                RETURNING event_id::text"""))
    return made


async def add_deliveries(pool, subscription_id: str, count: int, *, newest: bool = True) -> list[str]:
    made = []
    for event_id in await add_events(pool, count):
        made.append(await pool.fetchval(
            f"""INSERT INTO deliveries (id, subscription_id, event_id, status, attempts, created_at, completed_at)
                VALUES (gen_random_uuid(), $1, $2, 'succeeded', 1,
                        (SELECT coalesce({'max' if newest else 'min'}(created_at), clock_timestamp())
                         FROM deliveries) + interval '{'' if newest else '-'}1 millisecond', now())
                RETURNING id::text""", uuid.UUID(subscription_id), uuid.UUID(event_id)))
    return made


async def test_subscriptions_walk_once_each_for_the_operator_and_only_their_own_for_an_integrator(
        fresh_database, fresh_kafka, tmp_path):
    async with running_service("notifications", webhook_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        client = service.client
        mine = [(await subscribe(client, f"http://127.0.0.1:9/{i}", subject="crm-a"))["id"] for i in range(5)]
        theirs = [(await subscribe(client, f"http://127.0.0.1:9/b{i}", subject="crm-b"))["id"] for i in range(4)]
        added = []

        async def subscribe_meanwhile():
            added.append((await subscribe(client, "http://127.0.0.1:9/late", subject="crm-a"))["id"])
            # One that sorts before the pages read so far: an OFFSET would then show a subscription twice.
            added.append(await service.runtime.pool.fetchval(
                """INSERT INTO subscriptions (id, owner, url, target_host, event_types, secret, created_at)
                   SELECT gen_random_uuid(), 'crm-a', url, target_host, event_types, 'whsec_x',
                          (SELECT min(created_at) FROM subscriptions) - interval '1 day'
                   FROM subscriptions LIMIT 1 RETURNING id::text"""))

        every = flat(await walk(client, "/v1/subscriptions", 2, OPERATOR, subscribe_meanwhile))
        assert len(every) == len(set(every))
        assert set(mine + theirs) <= set(every) <= set(mine + theirs + added)
        own = flat(await walk(client, "/v1/subscriptions", 2, auth("integrator", "crm-a")))
        assert sorted(own) == sorted(mine + added)  # the owner filter holds on every page


async def test_deliveries_walk_newest_first_once_each_while_new_ones_arrive(fresh_database, fresh_kafka, tmp_path):
    async with running_service("notifications", webhook_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        pool = service.runtime.pool
        subscription = (await subscribe(service.client, "http://127.0.0.1:9/"))["id"]
        other = (await subscribe(service.client, "http://127.0.0.1:9/other"))["id"]
        existing = await add_deliveries(pool, subscription, 9)
        await add_deliveries(pool, other, 3)
        path = f"/v1/subscriptions/{subscription}/deliveries"
        # Newer deliveries come first: an OFFSET would show the ones already read again.
        pages = await walk(service.client, path, 4, auth("integrator", "crm"),
                           lambda: add_deliveries(pool, subscription, 2))
        seen = flat(pages)
        assert seen[:9] == list(reversed(existing)) and len(seen) == 9
        assert all(len(page) <= 4 for page in pages)


async def test_events_walk_newest_first_once_each_while_events_arrive(fresh_database, fresh_kafka, tmp_path):
    async with running_service("notifications", webhook_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        pool = service.runtime.pool
        existing = await add_events(pool, 11)
        pages = await walk(service.client, "/v1/events", 3, OPERATOR, lambda: add_events(pool, 2))
        seen = flat(pages, "event_id")
        assert seen == list(reversed(existing))
        received = [e["received_at"] for page in pages for e in page]
        assert received == sorted(received, reverse=True)
        assert (await service.client.get("/v1/events", headers=auth("integrator"))).status_code == 403


@pytest.mark.parametrize("path", ["/v1/subscriptions", "/v1/subscriptions/{id}/deliveries", "/v1/events"])
async def test_a_cursor_of_another_list_or_a_limit_out_of_range_is_a_422_naming_it(fresh_database, fresh_kafka,
                                                                                 tmp_path, path):
    async with running_service("notifications", webhook_settings(fresh_database, fresh_kafka, tmp_path)) as service:
        client = service.client
        subscription = (await subscribe(client, "http://127.0.0.1:9/", subject="crm"))["id"]
        await subscribe(client, "http://127.0.0.1:9/2", subject="crm")
        await add_deliveries(service.runtime.pool, subscription, 2)
        lists = {"/v1/subscriptions": "/v1/subscriptions", "/v1/subscriptions/{id}/deliveries":
                 f"/v1/subscriptions/{subscription}/deliveries", "/v1/events": "/v1/events"}
        # A real cursor, but of another of these lists.
        elsewhere = next(p for key, p in lists.items() if key != path)
        foreign = (await client.get(elsewhere, params={"limit": 1}, headers=OPERATOR)).json()["next_cursor"]
        assert foreign
        target = lists[path]
        for params, field in (({"cursor": foreign}, "cursor"), ({"cursor": "bDE6NQ"}, "cursor"),
                              ({"limit": 0}, "limit"), ({"limit": 201}, "limit")):
            r = await client.get(target, params=params, headers=OPERATOR)
            assert r.status_code == 422, (params, r.text)
            assert [e["field"] for e in r.json()["errors"]] == [field], params
        ok = await client.get(target, params={"limit": 200}, headers=OPERATOR)
        assert ok.status_code == 200 and ok.json()["next_cursor"] is None
