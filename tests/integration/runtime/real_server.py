"""A service app behind a real uvicorn on a loopback port, and raw HTTP/1.1 on one open connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[int]:
    """The app (with its lifespan) served by uvicorn on a free loopback port; yields the port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The next response on the connection: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout=10)
    return int(status_line.split()[1]), headers, body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   path: str) -> tuple[int, dict[str, str], bytes]:
    """One GET on an open connection and its response."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: service\r\n\r\n".encode())
    await writer.drain()
    return await read_response(reader)
