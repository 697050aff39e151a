"""Apps served over real TCP for the HTTP benchmarks: the bare FastAPI + asyncpg anchor, and a client driving them.

`python -m benchmarks.http_bench bare|catalogue PORT DSN [KAFKA HOME]` serves one app with uvicorn on uvloop and
httptools. The catalogue is served by servicekit.runner.serve, as `schuldenlab run catalogue` serves it (its
access log and all); its log goes wherever the parent sends this process's stderr.

The bare anchor is what a minimal correct endpoint costs on the same machine: one FastAPI app, no middleware,
an asyncpg pool, and one route per path:
- POST /v1/projects parses the body as JSON and inserts it as one row in one statement, answering 201 with the id;
- GET /v1/catalogue runs the very SELECT the catalogue's first page runs (taken from its repository, so the two
  cannot drift apart) and answers the rows as JSON, passing the records' JSON text on as the catalogue does.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import psutil
import uvicorn
from fastapi import FastAPI, Request, Response

from catalogue.adapters.catalogue import PostgresCatalogueRepository
from catalogue.service_layer.ports import CatalogueQuery

CONCURRENCY = 16
BARE_TABLE = "CREATE TABLE IF NOT EXISTS public.bare_submissions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), " \
             "dossier jsonb NOT NULL)"


class _Capture:
    """Stands in for a connection and keeps the statement the repository would run."""

    async def fetch(self, sql: str, *args: object) -> list:
        self.sql, self.args = sql, args
        return []


def first_page_statement(limit: int = 20) -> tuple[str, tuple]:
    """The SELECT (and its arguments) the catalogue runs for its first page of `limit` (one more, to see a next)."""
    capture = _Capture()
    asyncio.run(PostgresCatalogueRepository(capture).page_text(CatalogueQuery(limit=limit + 1)))  # type: ignore[arg-type]
    return capture.sql, capture.args


def bare_app(dsn: str) -> FastAPI:
    sql, args = first_page_statement()
    pools: list[asyncpg.Pool] = []

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10, init=init,
                                         server_settings={"search_path": "catalogue,public"})
        await pool.execute(BARE_TABLE)
        pools.append(pool)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/projects", status_code=201)
    async def submit(request: Request) -> Response:
        dossier = json.loads(await request.body())
        new_id = await pools[0].fetchval("INSERT INTO bare_submissions (dossier) VALUES ($1) RETURNING id", dossier)
        return Response(json.dumps({"id": str(new_id)}), status_code=201, media_type="application/json")

    @app.get("/v1/catalogue")
    async def first_page() -> Response:
        rows = await pools[0].fetch(sql, *args)
        items = ",".join(row["record_text"] for row in rows[:20])  # JSON text already: passed on as it is
        return Response(f'{{"items":[{items}],"next_cursor":null}}', media_type="application/json")

    return app


def _serve(kind: str, port: int, dsn: str, kafka: str | None, home: str | None) -> None:
    if kind == "bare":
        uvicorn.run(bare_app(dsn), host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                    log_config=None, access_log=False, log_level="warning")
        return
    from schuldenlab.services import load_definition
    from servicekit.runner import serve
    from servicekit.service import create_app
    from tests.support.harness import service_settings

    app = create_app(load_definition("catalogue"), service_settings(dsn, kafka, Path(home)))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    serve(app, listener)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_server(kind: str, dsn: str, log: Path, kafka: str = "", home: str = "",
                       ready_path: str = "/v1/catalogue") -> tuple[subprocess.Popen, str]:
    """A subprocess serving `kind` on a free port; returns it and its base URL once `ready_path` answers."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "benchmarks.http_bench", kind, str(port), dsn, kafka, home],
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited with {process.returncode}; see {log}")
            try:
                if (await client.get(ready_path)).status_code == 200:
                    return process, url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"{kind} did not answer within 60 s; see {log}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# One request: sent by `client`, its index given; asserts its own answer.
Call = Callable[[httpx.AsyncClient, int], object]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) so far of each of the processes `pids` and of their children."""
    seconds = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in (root, *root.children(recursive=True)):
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return seconds


def postmaster(data_dir: Path) -> int:
    """The pid of the PostgreSQL server whose data directory is `data_dir` (its backends are its children)."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


async def drive(url: str, call: Call, count: int, concurrency: int = CONCURRENCY,
                watch: dict[str, list[int]] | None = None) -> tuple[float, ...]:
    """`count` calls by `concurrency` clients at once, each its own connection: (requests/s, p50 ms, p99 ms), then
    for each group of processes in `watch` the CPU milliseconds they spent per request meanwhile."""
    watch = watch or {}
    queue = iter(range(count))
    timings: list[float] = []

    async def worker(client: httpx.AsyncClient) -> None:
        for i in queue:
            started = time.perf_counter()
            await call(client, i)
            timings.append((time.perf_counter() - started) * 1000)

    clients = [httpx.AsyncClient(base_url=url, timeout=30) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(c.get("/health/live") for c in clients), return_exceptions=True)  # connect first
        before = {name: cpu_seconds(pids) for name, pids in watch.items()}
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
        after = {name: cpu_seconds(pids) for name, pids in watch.items()}
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    cpu = [sum(t - before[name].get(pid, 0.0) for pid, t in after[name].items()) * 1000 / count for name in watch]
    return count / elapsed, statistics.median(timings), p99(timings), *cpu


def p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[98] if len(timings) > 1 else timings[0]


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], *(sys.argv[4:6] or (None, None)))
