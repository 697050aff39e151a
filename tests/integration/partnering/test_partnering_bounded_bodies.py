"""Partnering bounds request bodies before it authenticates or parses them: a 100 MB upload without a token
is refused at once, not read, parsed and then refused for the missing token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from schuldenlab.services import load_definition
from servicekit.service import create_app
from tests.integration.runtime.real_server import read_response, served
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration

HUNDRED_MB = 100 * 1024 * 1024
LIMIT = 64 * 1024
JSON = {"Content-Type": "application/json"}


class Upload:
    """100 MB sent in 64 KiB chunks as the server asks for them; one buffer, so nothing near 100 MB exists."""

    def __init__(self, total: int = HUNDRED_MB, chunk: int = 64 * 1024) -> None:
        self.total, self.sent = total, 0
        self._piece = b"[" * chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            piece = self._piece[:self.total - self.sent]
            self.sent += len(piece)
            yield piece


async def labs(partnering) -> int:
    return await partnering.runtime.pool.fetchval("SELECT count(*) FROM labs")


async def test_100_mb_without_a_token_is_413_at_once_without_being_read(fresh_database, fresh_kafka, tmp_path):
    async with running_service("partnering", service_settings(fresh_database, fresh_kafka, tmp_path)) as partnering:
        declared, started = Upload(), time.monotonic()
        response = await partnering.client.post("/v1/labs", content=declared,
                                                headers={**JSON, "Content-Length": str(HUNDRED_MB)})
        assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
        assert declared.sent == 0 and time.monotonic() - started < 1.0

        chunked, started = Upload(), time.monotonic()
        response = await partnering.client.post("/v1/labs", content=chunked, headers=JSON)
        assert "content-length" not in response.request.headers
        assert response.status_code == 413 and f"larger than {LIMIT} bytes" in response.json()["detail"]
        assert chunked.sent <= LIMIT + 64 * 1024 and time.monotonic() - started < 1.0

        # Well within the limit, the same request goes through as always.
        lab = {"name": "Schuldenlab Rijnmond", "municipalities": [f"Gemeente {i:03d}" for i in range(100)],
               "region": "Rijnmond"}
        response = await partnering.client.post("/v1/labs", json=lab, headers=auth("lab", "kwartiermaker-kim"))
        assert response.status_code == 201, response.text
        assert await labs(partnering) == 1


async def test_over_a_real_connection_the_413_comes_before_the_upload_and_closes_the_connection(
        fresh_database, fresh_kafka, tmp_path):
    app = create_app(load_definition("partnering"), service_settings(fresh_database, fresh_kafka, tmp_path))
    async with served(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            started = time.monotonic()
            # Only the head: the answer must come without waiting for a byte of the announced body.
            writer.write(f"POST /v1/labs HTTP/1.1\r\nHost: partnering\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode())
            await writer.drain()
            status, headers, _ = await read_response(reader)
            assert status == 413 and headers["content-type"] == "application/problem+json"
            assert headers["connection"] == "close" and time.monotonic() - started < 2.0
            # The rest of the upload is never read: the server hangs up instead of waiting for it.
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        finally:
            writer.close()
