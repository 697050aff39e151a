"""Idempotency keys on every POST (draft-ietf-httpapi-idempotency-key-header): a retry gets the first answer.

A client sends `Idempotency-Key: <key>` with a POST. The first request with that key runs; its answer (status,
headers, body) is kept for SCHULDENLAB_IDEMPOTENCY_KEY_TTL seconds, and a retry with the same key and the same
request gets that answer again without running anything. The same key with another request (method, path, query
or body) is a 422; the same key while its first request still runs is a 409. What "the same key" means depends
on who sends it: keys are scoped by the caller (the token's subject and roles; without a valid token, the key
alone), so two callers never see each other's answers.

One ASGI middleware, inside the body limit (it sees a body of bounded size) and inside the last-resort error
handler (its own failures are answered as a problem). The table comes with the runtime's migrations
(`servicekit/migrations/0003_idempotency_keys.sql`), in every service's own schema.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.auth import verify_token
from servicekit.config import Settings
from servicekit.problems import Problem, problem_response

if TYPE_CHECKING:
    from servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # on a replayed answer, so a client (and an operator) can tell it from a new one
DEFAULT_TTL = 24 * 3600
MAX_TTL = 365 * 24 * 3600
MAX_KEY_LENGTH = 255
# Visible ASCII without spaces: a UUID, a ULID, a hash, or any of those quoted as the draft writes keys.
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
# A claim whose request never answered (its process died) is given up after this long. No request runs that
# long, so a claim this old is no longer in flight; the retry then runs the request once more.
IN_FLIGHT_LEASE = 60.0
PURGE_INTERVAL = 60.0  # seconds between purges of expired keys (or the TTL, when that is shorter)
PURGE_BATCH = 1000  # rows one purge deletes at most, so no request pays for a large backlog at once
# Answers that say "not now" or "not you" rather than anything about the request: a retry with the same key
# must be able to run again once the token, the state (404: an assessment round opens when its event arrives;
# 409: a lab forms) or the load allows it. Every other 4xx, like every 2xx, is kept and replayed.
NOT_KEPT = frozenset({401, 403, 404, 408, 409, 425, 429})

KEY_RULE = (f"an {HEADER} is 1 to {MAX_KEY_LENGTH} visible ASCII characters without spaces "
            '(a random UUID is best; "quoted" as the draft writes it, or bare, is the same key)')
IN_FLIGHT = f"A request with the same {HEADER} is still being answered; retry when it has been."
ALSO_IN_FLIGHT = f"Also when a request with the same {HEADER} is still being answered (retry when it has been)."
TOOK_EFFECT = (f"The first request with this {HEADER} took effect, but its answer was lost (the database connection "
               "dropped as it committed); it does not run again. Look up what it created or changed.")


def key_ttl(settings: Settings, service: str) -> int:
    """Seconds a key is kept: SCHULDENLAB_<SERVICE>_IDEMPOTENCY_KEY_TTL, else SCHULDENLAB_IDEMPOTENCY_KEY_TTL,
    else 24 h; a bad value stops the service at its start, naming the variable."""
    for name in (f"SCHULDENLAB_{service.upper()}_IDEMPOTENCY_KEY_TTL", "SCHULDENLAB_IDEMPOTENCY_KEY_TTL"):
        if ttl := settings.whole(name, 0, least=1, most=MAX_TTL, unit="seconds"):  # 0: not set here
            return ttl
    return DEFAULT_TTL


def parse_key(value: str) -> str:
    """The key a header value carries; ValueError (saying the rule) when it is not one."""
    if not _KEY.fullmatch(value):
        raise ValueError(KEY_RULE)
    # The draft writes the key as a Structured Field string, `"8e03978e-..."`; most clients send it bare. Both
    # are the same key, so a client may switch without losing what it sent before.
    inner = value[1:-1]
    if len(value) > 2 and value[0] == value[-1] == '"' and '"' not in inner and "\\" not in inner:
        return inner
    return value


def caller_scope(authorization: str | None, signing_key: str) -> bytes:
    """Whose keys these are: the subject and roles of a valid token, or nobody's (b"") without one.

    Roles belong to the scope because an answer can depend on them (an operator sees more); the token's id
    and expiry do not, so a client keeps its keys across a renewed token. A token the routes would refuse
    (bad signature, expired, no platform role) gives the anonymous scope: such a caller gets only what an
    anonymous one gets, and on a route needing a token the route refuses it (401/403, not kept).
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return b""
    try:
        principal = verify_token(signing_key, token.strip())
    except Problem:
        return b""
    return json.dumps([principal.subject, sorted(principal.roles)]).encode()


# --- what is stored: nothing that names the caller or the key, and the answer sealed with the key -----------
#
# An answer can hold a secret shown once: the catalogue's resubmission_token (the catalogue itself keeps only
# its digest), notifications' whsec_ secret. Kept in the clear for a day, a copy of the database would hold
# them. So the row is found by a hash of (caller, key), and the answer is encrypted and authenticated with a
# key derived from (caller, key): only a request carrying the caller's own key can read it back. The standard
# library has no AEAD, and one use does not justify a dependency: the cipher is HMAC-SHA256 as a PRF in counter
# mode with a random nonce, then HMAC-SHA256 over nonce and ciphertext (encrypt-then-MAC), with separate keys.


def key_secret(scope: bytes, key: str) -> bytes:
    """The one secret everything kept for (caller, key) derives from; never stored."""
    return hashlib.sha256(b"schuldenlab.idempotency-key.v1\0" + scope + b"\0" + key.encode()).digest()


def _derived(secret: bytes, purpose: bytes) -> bytes:
    return hmac.digest(secret, purpose, "sha256")


def row_id(secret: bytes) -> bytes:
    return hashlib.sha256(b"row\0" + secret).digest()


def fingerprint(secret: bytes, method: str, path: str, query: bytes, body: bytes) -> bytes:
    """The draft's request fingerprint: method, path, query and the raw body, keyed so it reveals no body."""
    # JSON for the head, so no path or query (a %00 in them, say) can run into another part.
    head = json.dumps([method, path, query.decode("latin-1")]).encode()
    return hmac.digest(_derived(secret, b"fingerprint"), head + b"\n" + body, "sha256")


# The first byte of a sealed answer: AES-256-GCM. Answers kept by an older version (its own HMAC construction,
# no such byte) are not opened: their retries are told the request took effect, as when an answer was lost.
SEALED_FORMAT = b"\x02"


def seal(secret: bytes, plaintext: bytes) -> bytes:
    """The answer encrypted and authenticated (AES-256-GCM, from `cryptography`) under a key derived from the
    caller's secret, which is never stored: the table alone opens no answer."""
    nonce = os.urandom(12)
    return SEALED_FORMAT + nonce + AESGCM(_derived(secret, b"seal")).encrypt(nonce, plaintext, SEALED_FORMAT)


def unseal(secret: bytes, sealed: bytes) -> bytes:
    """What `seal` sealed; ValueError for another key, any change, or an answer kept in an older format."""
    if sealed[:1] != SEALED_FORMAT:
        raise ValueError("the kept answer is in a format this version does not read")
    try:
        return AESGCM(_derived(secret, b"seal")).decrypt(sealed[1:13], sealed[13:], SEALED_FORMAT)
    except InvalidTag:
        raise ValueError("the kept answer was not sealed with this key, or was changed") from None


def _encode_answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = {"status": status, "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers]}
    return json.dumps(head).encode() + b"\n" + body


def _decode_answer(data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    head, _, body = data.partition(b"\n")
    parsed = json.loads(head)
    return parsed["status"], [(k.encode("latin-1"), v.encode("latin-1")) for k, v in parsed["headers"]], body


def kept(status: int) -> bool:
    """Whether an answer is kept for retries; a 5xx never is: its unit of work rolled back, a retry may succeed."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in NOT_KEPT)


# --- the table ---------------------------------------------------------------------------------------------

# Takes the key when it is new, expired, or held by a request that died before it took effect (same request,
# lease over). A request that took effect keeps its key whatever became of its answer.
_CLAIM = """
INSERT INTO idempotency_keys AS k (id, fingerprint, claim, expires_at)
VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))
ON CONFLICT (id) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, claim = EXCLUDED.claim, status = NULL, answer = NULL,
       created_at = clock_timestamp(), expires_at = EXCLUDED.expires_at
 WHERE k.expires_at <= clock_timestamp()
    OR (k.status IS NULL AND k.took_effect_at IS NULL AND k.fingerprint = EXCLUDED.fingerprint
        AND k.created_at <= clock_timestamp() - make_interval(secs => $5))
RETURNING claim"""
_PURGE = """
DELETE FROM idempotency_keys WHERE id IN (
    SELECT id FROM idempotency_keys WHERE expires_at <= clock_timestamp() ORDER BY expires_at LIMIT $1)"""

# The status kept for a request that took effect but answered something not kept (a 503 from the dropped
# connection of its own commit): no answer to replay, and nothing to run again.
ANSWER_LOST = 0
_MISMATCH, _IN_FLIGHT, _CLAIMED, _TOOK_EFFECT = "mismatch", "in flight", "claimed", "took effect"


async def _claim(pool: asyncpg.Pool, rid: bytes, fp: bytes, claim: uuid.UUID, ttl: int) -> str | bytes:
    """_CLAIMED, _MISMATCH, _IN_FLIGHT, _TOOK_EFFECT, or the sealed answer to replay."""
    for _ in range(3):
        if await pool.fetchval(_CLAIM, rid, fp, claim, float(ttl), IN_FLIGHT_LEASE) is not None:
            return _CLAIMED
        row = await pool.fetchrow(
            """SELECT fingerprint, status, answer,
                      took_effect_at IS NOT NULL AND created_at <= clock_timestamp() - make_interval(secs => $2)
                        AS answer_lost
                 FROM idempotency_keys WHERE id = $1""", rid, IN_FLIGHT_LEASE)
        if row is None:
            continue  # its request was answered with something not kept, just now: try to take it again
        if row["fingerprint"] != fp:
            return _MISMATCH
        if row["status"] == ANSWER_LOST:
            return _TOOK_EFFECT
        if row["status"] is not None:
            return row["answer"]
        # Unanswered: still in flight, or (lease over) it took effect and its answer was lost.
        return _TOOK_EFFECT if row["answer_lost"] else _IN_FLIGHT
    return _IN_FLIGHT


# The key of the POST the current task is answering, for the unit of work to mark in its own transaction.
_HELD: ContextVar[tuple[bytes, uuid.UUID] | None] = ContextVar("schuldenlab_idempotency_key", default=None)


async def mark_taken_effect(conn: asyncpg.Connection) -> None:
    """Called by servicekit.uow.transaction just before its commit: the key's request takes effect with it.

    In the same transaction, so the mark and the effect commit together or not at all: a key whose request
    took effect is never given up, even when the commit's answer never reached the route.
    """
    held = _HELD.get()
    if held is not None:
        await conn.execute("UPDATE idempotency_keys SET took_effect_at = clock_timestamp() "
                           "WHERE id = $1 AND claim = $2", *held)


async def purge_expired(pool: asyncpg.Pool, batch: int = PURGE_BATCH) -> int:
    """Delete up to `batch` expired keys; returns how many went."""
    return int((await pool.execute(_PURGE, batch)).split()[-1])


# --- the middleware ----------------------------------------------------------------------------------------


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client went away mid-body
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


class IdempotencyKeys:
    """ASGI middleware: a POST with an Idempotency-Key runs once per caller and key; retries get its answer."""

    def __init__(self, app: ASGIApp, pool: Callable[[], asyncpg.Pool], ttl: int) -> None:
        self.app = app
        self.pool = pool  # a getter: the runtime makes its pool when it starts, after this is built
        self.ttl = ttl
        self._next_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keys = _header(scope, b"idempotency-key") if scope["type"] == "http" and scope["method"] == "POST" else []
        if not keys:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            if len(keys) > 1:
                raise ValueError(f"send one {HEADER} header, not {len(keys)}")
            key = parse_key(keys[0].decode("latin-1"))
        except ValueError as exc:
            await self._refuse(request, 422, f"Invalid input: {HEADER}: {exc}", str(exc), receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return
        authorization = _header(scope, b"authorization")
        secret = key_secret(caller_scope(authorization[0].decode("latin-1") if authorization else None,
                                         scope["app"].state.signing_key), key)
        rid, claim = row_id(secret), uuid.uuid4()
        fp = fingerprint(secret, "POST", scope["path"], scope.get("query_string", b""), body)
        pool = self.pool()
        await self._purge_if_due(pool)
        outcome = await _claim(pool, rid, fp, claim, self.ttl)
        if isinstance(outcome, bytes):
            await self._replay(request, secret, outcome, receive, send)
        elif outcome == _MISMATCH:
            reason = ("already used for another request (method, path, query or body differ); "
                      "a key names one request: send a new key for a new request")
            await self._refuse(request, 422, f"Invalid input: {HEADER}: {reason}", reason, receive, send)
        elif outcome == _TOOK_EFFECT:
            response = problem_response(request, 409, TOOK_EFFECT,
                                        conditions=[f"a new {HEADER} for a new request"])
            await response(scope, receive, send)
        elif outcome == _IN_FLIGHT:
            response = problem_response(request, 409, f"The first request with this {HEADER} is still being "
                                        "answered; retry it when that request has been answered.",
                                        conditions=[f"the request with this {HEADER} has been answered"],
                                        headers={"Retry-After": "1"})
            await response(scope, receive, send)
        else:
            await self._run(scope, body, receive, send, pool, rid, claim, secret)

    async def _run(self, scope: Scope, body: bytes, receive: Receive, send: Send, pool: asyncpg.Pool,
                   rid: bytes, claim: uuid.UUID, secret: bytes) -> None:
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        answer: list[Message] = []

        async def replay_body() -> Message:
            return pending.pop() if pending else await receive()

        async def hold(message: Message) -> None:
            answer.append(message)

        held = _HELD.set((rid, claim))
        try:
            await self.app(scope, replay_body, hold)
        except Exception:
            # Nothing committed (a route that raises rolls back), so a retry may run again. A cancelled request
            # (the server stopping) keeps its claim until the lease ends; by then its process is gone.
            await self._settle(pool, rid, claim, scope["path"], None)
            raise
        finally:
            _HELD.reset(held)
        start = next((m for m in answer if m["type"] == "http.response.start"), None)
        if start is not None and kept(start["status"]):
            content = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
            await self._settle(pool, rid, claim, scope["path"], (start["status"], seal(secret, _encode_answer(
                start["status"], list(start.get("headers", [])), content))))
        else:
            # A 5xx (a 503 for a database that stopped answering, say) mostly means the unit of work rolled back,
            # and the retry runs again. Not when it committed after all (the server made the commit just before the
            # connection dropped): its mark came with the commit, and _settle leaves such a key alone.
            await self._settle(pool, rid, claim, scope["path"], None)
        for message in answer:
            await send(message)

    @staticmethod
    async def _settle(pool: asyncpg.Pool, rid: bytes, claim: uuid.UUID, path: str,
                      kept_answer: tuple[int, bytes] | None) -> None:
        """Keep the answer under the claim, or give the key up (None) so a retry runs again, unless it took effect."""
        try:
            if kept_answer is None:
                given_up = await pool.execute("DELETE FROM idempotency_keys WHERE id = $1 AND claim = $2 "
                                              "AND took_effect_at IS NULL", rid, claim)
                if given_up == "DELETE 0":
                    await pool.execute("UPDATE idempotency_keys SET status = $3 WHERE id = $1 AND claim = $2 "
                                       "AND took_effect_at IS NOT NULL", rid, claim, ANSWER_LOST)
            else:
                await pool.execute("UPDATE idempotency_keys SET status = $3, answer = $4 WHERE id = $1 AND claim = $2",
                                   rid, claim, *kept_answer)
        except Exception as exc:
            # The route has answered (and may have committed): the client gets that answer all the same, rather
            # than a 5xx about bookkeeping. Retries meet the claim (409) until the lease ends, then run again.
            log.warning("could not settle the %s of POST %s (%s); its retries get 409 for up to %.0f s",
                        HEADER, path, type(exc).__name__, IN_FLIGHT_LEASE)

    async def _replay(self, request: Request, secret: bytes, sealed: bytes, receive: Receive, send: Send) -> None:
        try:
            status, headers, body = _decode_answer(unseal(secret, sealed))
        except ValueError:  # kept by an older version (see SEALED_FORMAT): it took effect, nothing runs again
            response = problem_response(request, 409, TOOK_EFFECT, conditions=[f"a new {HEADER} for a new request"])
            await response(request.scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (REPLAYED.lower().encode(), b"true")]})
        await send({"type": "http.response.body", "body": body})

    async def _purge_if_due(self, pool: asyncpg.Pool) -> None:
        # Driven by the requests that add keys, so it keeps pace with them; one bounded batch at a time.
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + min(PURGE_INTERVAL, self.ttl)
        if await purge_expired(pool) == PURGE_BATCH:
            self._next_purge = now  # more than a batch had expired: the next keyed request goes on

    @staticmethod
    async def _refuse(request: Request, status: int, detail: str, reason: str, receive: Receive, send: Send) -> None:
        response = problem_response(request, status, detail, errors=[{"field": HEADER, "reason": reason}])
        await response(request.scope, receive, send)


# --- the OpenAPI document ----------------------------------------------------------------------------------

PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe (draft-ietf-httpapi-idempotency-key-header). The first request with a key runs; "
        "for SCHULDENLAB_IDEMPOTENCY_KEY_TTL seconds (24 h by default) a retry by the same caller (the token's "
        "subject and roles; without a token, anyone with the key) with the same method, path, query and body gets "
        f"the first answer again (status, headers, body; with `{REPLAYED}: true`) and changes nothing. The same "
        "key with another request: 422 naming the header. While the first request still runs: 409. A malformed "
        "key: 422. A 5xx, 401, 403, 404, 408, 409, 425 or 429 is not kept: the retry runs again."),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$",
               "examples": ["8e03978e-40d5-43e8-bc93-6894a57f9324"]},
}
REPLAYED_HEADER: dict[str, Any] = {
    "description": f"`true` when this is the kept answer to an earlier request with the same {HEADER}.",
    "schema": {"type": "string", "enum": ["true"]},
}


def declare_in_openapi(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the Idempotency-Key header on every POST operation, and the 409 it can answer (in place;
    running it twice changes nothing)."""
    for path_item in document.get("paths", {}).values():
        operation = path_item.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("in") == "header" and str(p.get("name", "")).lower() == HEADER.lower() for p in parameters):
            parameters.append(PARAMETER)
        responses = operation.setdefault("responses", {})
        conflict = responses.setdefault("409", {"description": IN_FLIGHT})
        if f"same {HEADER} is still being answered" not in conflict.get("description", ""):
            conflict["description"] = " ".join(filter(None, [conflict.get("description"), ALSO_IN_FLIGHT]))
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {}).setdefault(REPLAYED, REPLAYED_HEADER)
    return document


def install_idempotency_keys(app: FastAPI, runtime: ServiceRuntime) -> None:
    """Every POST of the app takes an Idempotency-Key: the middleware, and the header in the OpenAPI document.

    Call it before the body limit is added (so the limit wraps it: it sees only a bounded body) and before
    `servicekit.openapi.install_openapi` (which completes the document this declares, as it does a route's own
    declarations: the 409 gets its problem+json body there).
    """
    app.add_middleware(IdempotencyKeys, pool=lambda: runtime.pool, ttl=key_ttl(runtime.settings, runtime.schema))
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return declare_in_openapi(generate())

    app.openapi = openapi  # type: ignore[method-assign]
