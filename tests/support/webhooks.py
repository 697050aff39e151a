"""A tiny HTTP/1.1 webhook receiver on loopback for tests: records requests, answers as scripted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass(frozen=True)
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the test ends)


@dataclass
class Receiver:
    """`answer` decides the reply to each request (given how many came before); default 204."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[int], Answer] = lambda n: Answer()
    handlers: set[asyncio.Task] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.add(asyncio.current_task())
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                n = len(self.requests)
                self.requests.append(Received(path, headers, body, time.monotonic()))
                answer = self.answer(n)
                if answer.hang:
                    await asyncio.sleep(3600)
                extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
                writer.write(f"HTTP/1.1 {answer.status} X\r\ncontent-length: 0\r\n{extra}\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def webhook_receiver(answer: Callable[[int], Answer] | None = None) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    if answer is not None:
        receiver.answer = answer
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        for task in receiver.handlers:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


async def received(receiver: Receiver, n: int) -> list[Received] | None:
    """For `eventually`: the requests once at least `n` arrived."""
    return receiver.requests if len(receiver.requests) >= n else None
