"""The runtime's request guards on a small app without I/O: the body limit, text the database cannot
store, strict counts, and the problem answer to an unexpected error."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict

from servicekit.auth import require_role
from servicekit.bodylimit import BodyLimit, max_body_bytes
from servicekit.config import ConfigError, Settings
from servicekit.inputs import MAX_INT4, Count, refuse_unstorable_text, unstorable_in_json
from servicekit.problems import UnexpectedErrors, install_problem_handlers

LIMIT = 1024
KEY = "unit-test-key-0123456789-0123456789-0123"


class Partner(BaseModel):
    name: str


class Dossier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    partners: list[Partner] = []
    clients_served: Count = 0


@pytest.fixture
def calls() -> list[object]:
    return []


@pytest.fixture
def app(calls: list[object]) -> FastAPI:
    # Assembled as servicekit's create_app assembles every service's app.
    app = FastAPI(dependencies=[Depends(refuse_unstorable_text)])
    app.state.signing_key = KEY
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=LIMIT)
    app.add_middleware(UnexpectedErrors)

    @app.post("/dossiers", dependencies=[Depends(require_role("lab"))])
    async def submit(body: Dossier) -> dict:
        calls.append(body)
        return body.model_dump()

    @app.post("/echo")
    async def echo(body: Dossier) -> dict:
        calls.append(body)
        return body.model_dump()

    @app.get("/search/{kind}")
    async def search(kind: str, q: str | None = None) -> dict:
        calls.append((kind, q))
        return {"kind": kind, "q": q}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("the database went away")

    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        yield client


class Upload:
    """A request body sent in chunks as the server asks for them, counting what it handed over."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0
        self._piece = b"x" * chunk  # one buffer sent again and again: nothing near `total` is allocated

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            size = min(self.chunk, self.total - self.sent)
            self.sent += size
            yield self._piece[:size]


def as_json(document: object) -> dict:
    # json.dumps writes \u escapes, so a lone surrogate travels as JSON allows (httpx would refuse it).
    return {"content": json.dumps(document), "headers": {"Content-Type": "application/json"}}


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    return response.json()


# --- the body limit ---------------------------------------------------------------------------------


async def test_a_declared_body_over_the_limit_is_413_without_reading_a_byte_or_asking_for_a_token(client, calls):
    upload = Upload(100 * 1024 * 1024)
    response = await client.post("/dossiers", content=upload,
                                 headers={"Content-Length": str(upload.total), "Content-Type": "application/json"})
    problem = assert_problem(response, 413)
    assert f"larger than {LIMIT} bytes" in problem["detail"]
    assert response.headers["connection"] == "close"  # the unread rest makes the connection unusable
    assert upload.sent == 0 and calls == []


async def test_a_content_length_too_long_to_be_a_number_is_413_too(client, calls):
    response = await client.post("/echo", content=b"{}", headers={"Content-Length": "9" * 5000})
    assert_problem(response, 413)
    assert calls == []


async def test_a_chunked_body_over_the_limit_is_413_once_the_limit_is_passed(client, calls):
    upload = Upload(100 * 1024 * 1024, chunk=512)
    response = await client.post("/dossiers", content=upload, headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # really chunked
    assert_problem(response, 413)
    assert upload.sent <= LIMIT + 512 and calls == []


async def test_a_chunked_body_within_the_limit_reaches_the_route_whole(client, calls):
    body = b'{"name": "' + b"n" * 600 + b'"}'

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start:start + 100]

    response = await client.post("/echo", content=pieces(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["name"] == "n" * 600
    assert len(calls) == 1


async def test_a_body_of_exactly_the_limit_is_accepted(client):
    padding = LIMIT - len(b'{"name": ""}')
    response = await client.post("/echo", content=b'{"name": "' + b"n" * padding + b'"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 200


def test_the_limit_is_64_kib_unless_the_service_sets_its_own():
    assert max_body_bytes(Settings.from_env({}), "partnering") == 65536
    env = {"SCHULDENLAB_PARTNERING_MAX_BODY_BYTES": "2048", "SCHULDENLAB_CATALOGUE_MAX_BODY_BYTES": "99"}
    assert max_body_bytes(Settings.from_env(env), "partnering") == 2048
    assert max_body_bytes(Settings.from_env(env), "catalogue") == 99
    assert max_body_bytes(Settings.from_env(env), "assessment") == 65536


@pytest.mark.parametrize("raw", ["64k", "-1", "0", "1.5"])
def test_a_malformed_limit_stops_the_service_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_NOTIFICATIONS_MAX_BODY_BYTES="):
        max_body_bytes(Settings.from_env({"SCHULDENLAB_NOTIFICATIONS_MAX_BODY_BYTES": raw}), "notifications")


# --- text the database cannot store ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\u0000b", "\ud800", "ok \udfff"])
async def test_unstorable_text_in_a_body_field_is_422_naming_the_field(client, calls, text):
    response = await client.post("/echo", **as_json({"name": "Lab", "partners": [{"name": "p"}, {"name": text}]}))
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": "partners.1.name", "reason": problem["errors"][0]["reason"]}]
    assert "cannot be stored" in problem["errors"][0]["reason"]
    assert calls == []


async def test_unstorable_text_is_refused_before_authentication(client, calls):
    response = await client.post("/dossiers", **as_json({"name": "a\u0000b"}))
    assert assert_problem(response, 422)["errors"][0]["field"] == "name"


async def test_an_unstorable_field_name_is_422_naming_it_escaped(client, calls):
    problem = assert_problem(await client.post("/echo", **as_json({"name": "Lab", "x\u0000y": 1})), 422)
    assert problem["errors"][0]["field"] == "x\\x00y" and calls == []


async def test_a_nul_in_a_query_parameter_is_422_naming_the_parameter(client, calls):
    problem = assert_problem(await client.get("/search/labs?q=%00"), 422)
    assert problem["errors"] == [{"field": "q", "reason": problem["errors"][0]["reason"]}]
    assert "NUL" in problem["detail"] and calls == []


async def test_a_nul_in_a_path_parameter_is_422_naming_the_parameter(client, calls):
    problem = assert_problem(await client.get("/search/la%00bs"), 422)
    assert problem["errors"][0]["field"] == "kind" and calls == []


async def test_text_in_any_script_and_emoji_is_stored_as_sent(client, calls):
    name = "Schuldenlab Zuid-Holland \u00e9\u00e8 \u4e2d\u6587 \U0001f600"
    response = await client.post("/echo", json={"name": name})
    assert response.status_code == 200 and response.json()["name"] == name
    assert (await client.get("/search/caf\u00e9", params={"q": "\u00fcber"})).json() == {"kind": "caf\u00e9",
                                                                                           "q": "\u00fcber"}


def test_the_body_walk_survives_nesting_deeper_than_recursion_allows():
    document: object = "a\u0000"
    for _ in range(5_000):  # JSON parsers stop near 1,000 levels; Python recursion would too
        document = [document]
    [(loc, _)] = list(unstorable_in_json(document))
    assert loc == ("body", *[0] * 5_000)


# --- counts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, "5", 5.0, -1, MAX_INT4 + 1, 2**63, 10**400])
async def test_a_count_is_a_json_integer_the_database_column_holds(client, calls, value):
    response = await client.post("/echo", **as_json({"name": "Lab", "clients_served": value}))
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "clients_served" and calls == []


@pytest.mark.parametrize("value", [0, 12, MAX_INT4])
async def test_a_count_within_the_column_is_accepted(client, value):
    response = await client.post("/echo", json={"name": "Lab", "clients_served": value})
    assert response.status_code == 200 and response.json()["clients_served"] == value


# --- unexpected errors -------------------------------------------------------------------------------


async def test_an_unexpected_error_is_a_500_problem_with_an_error_id_logged_once_with_its_traceback(
        client, caplog):
    with caplog.at_level(logging.ERROR):
        response = await client.get("/boom", params={"email": "anna@example.nl"})
    problem = assert_problem(response, 500)
    error_id = problem["error_id"]
    assert str(uuid.UUID(error_id)) == error_id and error_id in problem["detail"]
    assert "database went away" not in response.text  # the cause stays in the log
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error_id in record.getMessage() and record.exc_info[0] is RuntimeError
    assert "anna@example.nl" not in caplog.text  # the query string may hold personal data
    assert (await client.get("/search/labs")).status_code == 200
