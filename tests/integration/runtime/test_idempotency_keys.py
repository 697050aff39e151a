"""The runtime's Idempotency-Key handling on a probe service with real PostgreSQL: replay, refusal, in-flight
409, what is not kept, the TTL and its purge, callers kept apart, and nothing readable in the table."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from servicekit.idempotency import IN_FLIGHT_LEASE, TOOK_EFFECT, purge_expired
from servicekit.problems import Problem
from servicekit.service import create_app, get_runtime
from tests.integration.runtime.probe import Behaviour, definition
from tests.support.harness import RunningService, auth, eventually, service_settings

pytestmark = pytest.mark.integration

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


class Thing(BaseModel):
    name: str


@dataclasses.dataclass
class Probe:
    service: RunningService
    calls: list[str]
    gate: asyncio.Event

    @property
    def client(self) -> httpx.AsyncClient:
        return self.service.client

    async def effects(self) -> int:
        return await self.service.runtime.pool.fetchval("SELECT count(*) FROM effects")

    async def keys(self) -> int:
        return await self.service.runtime.pool.fetchval("SELECT count(*) FROM idempotency_keys")


def things_router(calls: list[str], gate: asyncio.Event) -> APIRouter:
    """POST /v1/things creates a thing (an effects row) and answers its one-time secret, like a submission;
    "slow" waits for the gate, and "crash", "busy" and "taken" fail the first time they are asked; "lost" takes
    effect, then answers 503 the first time, as when the connection drops while the server commits."""
    router = APIRouter()

    @router.post("/v1/things", status_code=201)
    async def create_thing(body: Thing, request: Request) -> JSONResponse:
        calls.append(body.name)
        first_time = calls.count(body.name) == 1
        if body.name == "slow":
            await gate.wait()
        if body.name == "busy" and first_time:
            raise Problem(503, "The database does not answer now")
        if body.name == "taken" and first_time:
            raise Problem(409, "Not now", conditions=["the name is free"])
        thing_id = uuid.uuid4()
        async with get_runtime(request).transaction() as uow:
            await uow.conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", thing_id, body.name)
            if body.name == "crash" and first_time:
                raise RuntimeError("a bug after the write: the write rolls back")
        if body.name == "lost" and first_time:
            raise Problem(503, "The database does not answer now")
        return JSONResponse({"id": str(thing_id), "secret": secrets.token_urlsafe(32)}, status_code=201,
                            headers={"Location": f"/v1/things/{thing_id}"})

    return router


@contextlib.asynccontextmanager
async def probe(fresh_database: str, fresh_kafka: str, tmp_path, **env: str) -> AsyncIterator[Probe]:
    calls: list[str] = []
    gate = asyncio.Event()
    app = create_app(dataclasses.replace(definition(Behaviour()), routers=[things_router(calls, gate)]),
                     service_settings(fresh_database, fresh_kafka, tmp_path, **env))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
            yield Probe(RunningService("probe", app, client), calls, gate)


def keyed(key: str = KEY, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


async def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_runs_nothing_again(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = await p.client.post("/v1/things", json={"name": "one"}, headers=keyed())
        retry = await p.client.post("/v1/things", json={"name": "one"}, headers=keyed())
        # The draft writes keys as Structured Field strings; the same key quoted is the same key.
        quoted = await p.client.post("/v1/things", json={"name": "one"}, headers=keyed(f'"{KEY}"'))

        assert first.status_code == 201 and "idempotent-replayed" not in first.headers
        for again in (retry, quoted):
            assert again.status_code == 201
            assert again.content == first.content  # the one-time secret included: it is this caller's own
            assert again.headers["location"] == first.headers["location"]
            assert again.headers["content-type"] == first.headers["content-type"]
            assert again.headers["idempotent-replayed"] == "true"
        assert p.calls == ["one"] and await p.effects() == 1

        # Without a key nothing is remembered: a second POST is a second thing.
        plain = [await p.client.post("/v1/things", json={"name": "two"}) for _ in range(2)]
        assert [r.status_code for r in plain] == [201, 201] and await p.effects() == 3
        assert await p.keys() == 1


async def test_the_same_key_for_another_request_is_422_naming_the_header_and_runs_nothing(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        assert (await p.client.post("/v1/things", json={"name": "one"}, headers=keyed())).status_code == 201
        others = [
            await p.client.post("/v1/things", json={"name": "other"}, headers=keyed()),
            await p.client.post("/v1/things", content=b'{"name":  "one"}', headers=keyed(**{
                "Content-Type": "application/json"})),  # the same JSON in other bytes: the raw body counts
            await p.client.post("/v1/things?copy=1", json={"name": "one"}, headers=keyed()),
        ]
        for response in others:
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
            assert "another request" in problem["errors"][0]["reason"] and "Idempotency-Key" in problem["detail"]
        assert p.calls == ["one"] and await p.effects() == 1


async def test_a_key_that_is_not_one_is_422_naming_the_header_and_runs_nothing(fresh_database, fresh_kafka,
                                                                              tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        bad = [[("Idempotency-Key", "")], [("Idempotency-Key", "two words")], [("Idempotency-Key", "k" * 256)],
               [("Idempotency-Key", "sleutel-é".encode())], [("Idempotency-Key", "a"), ("Idempotency-Key", "b")]]
        for headers in bad:
            response = await p.client.post("/v1/things", json={"name": "one"}, headers=headers)
            assert response.status_code == 422, (headers, response.text)
            assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]
        longest = await p.client.post("/v1/things", json={"name": "one"}, headers=keyed("k" * 255))
        assert longest.status_code == 201
        assert p.calls == ["one"] and await p.effects() == 1


async def test_a_retry_while_the_first_request_runs_gets_409_and_afterwards_the_first_answer(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = asyncio.create_task(p.client.post("/v1/things", json={"name": "slow"}, headers=keyed()))
        await eventually(lambda: p.keys())  # the first request holds the key
        # Bounded: were it run again, it would wait for the gate too.
        during = await asyncio.wait_for(p.client.post("/v1/things", json={"name": "slow"}, headers=keyed()), 10)
        assert during.status_code == 409, during.text
        assert during.headers["content-type"] == "application/problem+json" and during.headers["retry-after"] == "1"
        assert "still being answered" in during.json()["detail"]

        p.gate.set()
        answered = await first
        after = await p.client.post("/v1/things", json={"name": "slow"}, headers=keyed())
        assert answered.status_code == after.status_code == 201 and after.content == answered.content
        assert p.calls == ["slow"] and await p.effects() == 1


async def test_a_key_whose_request_died_is_free_again_once_the_lease_is_over(fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = asyncio.create_task(p.client.post("/v1/things", json={"name": "slow"}, headers=keyed()))
        await eventually(lambda: p.keys())
        first.cancel()  # the request dies mid-way, as it does with its process: its claim stays behind
        with contextlib.suppress(asyncio.CancelledError):
            await first
        still_held = await asyncio.wait_for(p.client.post("/v1/things", json={"name": "slow"}, headers=keyed()), 10)
        assert still_held.status_code == 409

        await p.service.runtime.pool.execute(
            "UPDATE idempotency_keys SET created_at = created_at - make_interval(secs => $1)", IN_FLIGHT_LEASE + 1)
        p.gate.set()
        retried = await p.client.post("/v1/things", json={"name": "slow"}, headers=keyed())
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
        replayed = await p.client.post("/v1/things", json={"name": "slow"}, headers=keyed())
        assert replayed.headers["idempotent-replayed"] == "true" and replayed.content == retried.content
        assert p.calls == ["slow", "slow"] and await p.effects() == 1


async def test_an_answer_that_cannot_be_kept_still_reaches_its_client_and_says_so_in_the_log(
        fresh_database, fresh_kafka, tmp_path, caplog):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = asyncio.create_task(p.client.post("/v1/things", json={"name": "slow"}, headers=keyed()))
        await eventually(lambda: p.keys())
        pool = p.service.runtime.pool
        # The answer cannot be stored (the unit of work's own mark still can: it sets no status).
        await pool.execute("""
            CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN RAISE EXCEPTION 'the database went away'; END $$;
            CREATE TRIGGER refuse_answers BEFORE UPDATE OF status ON idempotency_keys
              FOR EACH ROW EXECUTE FUNCTION refuse_answers()""")
        try:
            p.gate.set()
            answered = await asyncio.wait_for(first, 10)
        finally:
            await pool.execute("DROP TRIGGER refuse_answers ON idempotency_keys; DROP FUNCTION refuse_answers()")
        assert answered.status_code == 201 and await p.effects() == 1
        [line] = [r.getMessage() for r in caplog.records if r.name == "servicekit.idempotency"]
        assert "could not settle the Idempotency-Key of POST /v1/things" in line and KEY not in line
        # The claim is still held, so a retry is told to wait rather than run a second time.
        assert (await p.client.post("/v1/things", json={"name": "slow"}, headers=keyed())).status_code == 409


async def test_of_concurrent_duplicates_one_runs_and_the_others_get_409_or_its_answer(fresh_database,
                                                                                      fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        responses = await asyncio.gather(*(p.client.post("/v1/things", json={"name": "one"}, headers=keyed())
                                           for _ in range(10)))
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        assert len({r.content for r in responses if r.status_code == 201}) == 1
        assert p.calls == ["one"] and await p.effects() == 1


async def test_a_server_error_or_a_refusal_that_may_pass_is_not_kept_so_the_retry_runs_again(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        for name, status in (("crash", 500), ("busy", 503), ("taken", 409)):
            failed, ran_again, replayed = [await p.client.post("/v1/things", json={"name": name},
                                                               headers=keyed(f"key-{name}")) for _ in range(3)]
            assert failed.status_code == status, failed.text
            assert ran_again.status_code == 201 and "idempotent-replayed" not in ran_again.headers
            assert replayed.headers["idempotent-replayed"] == "true" and replayed.content == ran_again.content
        assert p.calls == ["crash", "crash", "busy", "busy", "taken", "taken"]
        assert await p.effects() == 3  # the crash's first write rolled back


async def test_a_request_that_took_effect_but_answered_503_never_runs_again_with_its_key(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        lost = await p.client.post("/v1/things", json={"name": "lost"}, headers=keyed())
        retry = await p.client.post("/v1/things", json={"name": "lost"}, headers=keyed())
        assert lost.status_code == 503 and retry.status_code == 409, retry.text
        assert retry.json()["detail"] == TOOK_EFFECT and "retry-after" not in retry.headers

        # Had the database been gone when the 503 was settled, the claim would stand unanswered: the retries are
        # told to wait while its lease lasts, and after it they learn it took effect; it never runs again.
        pool = p.service.runtime.pool
        await pool.execute("UPDATE idempotency_keys SET status = NULL")
        waiting = await p.client.post("/v1/things", json={"name": "lost"}, headers=keyed())
        assert waiting.status_code == 409 and waiting.headers["retry-after"] == "1"
        await pool.execute("UPDATE idempotency_keys SET created_at = created_at - make_interval(secs => $1)",
                           IN_FLIGHT_LEASE + 1)
        after_lease = await p.client.post("/v1/things", json={"name": "lost"}, headers=keyed())
        assert after_lease.status_code == 409 and after_lease.json()["detail"] == TOOK_EFFECT
        assert p.calls == ["lost"] and await p.effects() == 1


async def test_an_answer_kept_by_an_older_version_is_not_replayed_and_its_request_does_not_run_again(
        fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = await p.client.post("/v1/things", json={"name": "oud"}, headers=keyed())
        assert first.status_code == 201
        # As the version before AES-GCM sealed it: a 16-byte nonce, a 32-byte tag, the ciphertext; no format byte.
        await p.service.runtime.pool.execute("UPDATE idempotency_keys SET answer = $1", b"\x9c" * 16 + b"\0" * 40)
        retry = await p.client.post("/v1/things", json={"name": "oud"}, headers=keyed())
        assert retry.status_code == 409 and retry.json()["detail"] == TOOK_EFFECT
        assert p.calls == ["oud"] and await p.effects() == 1


async def test_an_answer_about_the_request_itself_is_kept_like_a_success(fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        first = await p.client.post("/v1/things", json={"nom": "one"}, headers=keyed())
        retry = await p.client.post("/v1/things", json={"nom": "one"}, headers=keyed())
        assert first.status_code == retry.status_code == 422 and retry.content == first.content
        assert "idempotent-replayed" not in first.headers and retry.headers["idempotent-replayed"] == "true"
        assert await p.keys() == 1


async def test_keys_are_kept_for_the_ttl_then_forgotten_and_purged_in_bounded_batches(fresh_database,
                                                                                     fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_IDEMPOTENCY_KEY_TTL="1") as p:
        assert (await p.client.post("/v1/things", json={"name": "one"}, headers=keyed())).status_code == 201
        assert (await p.client.post("/v1/things", json={"name": "two"}, headers=keyed())).status_code == 422
        started = time.monotonic()
        await asyncio.sleep(1.1)
        # The next request with a key purges what expired (at most once per TTL when it is this short).
        assert (await p.client.post("/v1/things", json={"name": "x"}, headers=keyed("other"))).status_code == 201
        assert await p.keys() == 1
        # The first key is forgotten: with another body it runs, as a new request.
        assert (await p.client.post("/v1/things", json={"name": "two"}, headers=keyed())).status_code == 201
        assert p.calls == ["one", "x", "two"] and time.monotonic() - started < 10

        await asyncio.sleep(1.1)
        pool = p.service.runtime.pool
        assert await purge_expired(pool, batch=1) == 1 and await p.keys() == 1
        assert await purge_expired(pool, batch=1) == 1 and await purge_expired(pool, batch=1) == 0


async def test_the_same_key_from_different_callers_never_meets(fresh_database, fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        callers = [{}, auth("lab", "kim"), auth("lab", "bram"), auth("operator", "kim"), auth("board", "kim")]
        answers = [await p.client.post("/v1/things", json={"name": "one"}, headers=keyed(**caller))
                   for caller in callers]
        assert [a.status_code for a in answers] == [201] * len(callers)
        assert len({a.json()["secret"] for a in answers}) == len(callers)  # nobody got another caller's secret
        assert await p.effects() == len(callers)

        # A renewed token (same subject and roles, another id and expiry) still finds its caller's key.
        again = await p.client.post("/v1/things", json={"name": "one"}, headers=keyed(**auth("lab", "kim")))
        assert again.headers["idempotent-replayed"] == "true" and again.content == answers[1].content


async def test_the_table_holds_neither_the_key_the_caller_nor_the_answer_in_readable_form(fresh_database,
                                                                                         fresh_kafka, tmp_path):
    async with probe(fresh_database, fresh_kafka, tmp_path) as p:
        created = await p.client.post("/v1/things", json={"name": "one"},
                                      headers=keyed(**auth("lab", "kwartiermaker-kim")))
        rows = await p.service.runtime.pool.fetch("SELECT * FROM idempotency_keys")
        assert [(row["status"], len(row["answer"]) > len(created.content)) for row in rows] == [(201, True)]
        stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row.values())
        for readable in (KEY, "kwartiermaker-kim", created.json()["secret"], created.json()["id"], "Location",
                         "one"):
            assert readable.encode() not in stored, readable
