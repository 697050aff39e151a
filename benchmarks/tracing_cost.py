"""Benchmark: what tracing costs on the submission path (POST /v1/projects), beside the same path untraced.

Three configurations of the catalogue, measured in one run:
- `off`: no OTEL_* variable, as a service runs by default (the anchor);
- `otlp`: OTEL_EXPORTER_OTLP_ENDPOINT set, so servicekit.tracing exports every span over OTLP/HTTP, here to a
  small receiver in this process that answers each POST /v1/traces with 200;
- `sampled out`: the same exporter with OTEL_TRACES_SAMPLER=traceidratio and a ratio of 0: the SDK and
  FastAPI's telemetry are on, yet no span is recorded or sent.

A tracer provider can be set only once in a process, so each configuration runs in a process of its own: the
catalogue's full ASGI app with its lifespan (pool, outbox relay publishing to the broker, consumer) against the
one embedded PostgreSQL (a new database each time) and the one embedded Tansu broker this process starts;
requests go through httpx's ASGI transport, so there is no TCP hop. The rounds interleave the configurations
(in a turning order) and the medians of the rounds are compared with the anchor's.

Run: .venv/bin/python -m benchmarks.tracing_cost [--submissions N] [--rounds N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONFIGURATIONS = ("off", "otlp", "sampled out")
RESULT = "RESULT "  # the child's one line of numbers, among whatever the libraries print


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver that keeps nothing: counts the exports and their bytes, answers 200."""

    exports = 0
    received = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v1/traces":
            type(self).exports += 1
            type(self).received += len(body)
        # An empty ExportTraceServiceResponse: full success.
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _dossier(i: int) -> dict:
    from schuldenlab.demo_data import KNOWN_PROJECTS

    data = copy.deepcopy(KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)])
    data["name"] = f"{data['name']} {i}"
    return data


def _environment(configuration: str, endpoint: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    if configuration != "off":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    if configuration == "sampled out":
        env |= {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
    return env


def _child(configuration: str, endpoint: str, admin_dsn: str, bootstrap: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "benchmarks.tracing_cost", "--child", admin_dsn, bootstrap,
               "--submissions", str(args.submissions), "--warmup", str(args.warmup),
               "--concurrency", str(args.concurrency)]
    done = subprocess.run(command, env=_environment(configuration, endpoint), capture_output=True, text=True,
                          timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{configuration}: the measuring process failed\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return json.loads(lines[-1].removeprefix(RESULT))


def run(args: argparse.Namespace) -> None:
    # Imported here: the measuring processes load them on their own.
    from schuldenlab.embedded.kafka import EmbeddedKafka
    from schuldenlab.embedded.postgres import EmbeddedPostgres
    from schuldenlab.embedded.topics import ensure_topics
    from schuldenlab.infrastructure import platform_topics

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    results: dict[str, list[dict]] = {name: [] for name in CONFIGURATIONS}
    exported: dict[str, int] = dict.fromkeys(CONFIGURATIONS, 0)
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
                EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
            asyncio.run(ensure_topics({"bootstrap_servers": kafka.bootstrap_servers}, platform_topics()))
            for round_ in range(args.rounds):
                order = CONFIGURATIONS[round_ % 3:] + CONFIGURATIONS[:round_ % 3]  # no configuration always first
                for configuration in order:
                    before = _Receiver.exports
                    results[configuration].append(_child(configuration, endpoint, pg.dsn, kafka.bootstrap_servers,
                                                         args))
                    exported[configuration] += _Receiver.exports - before
    finally:
        receiver.shutdown()

    medians = {name: {key: statistics.median(r[key] for r in rounds) for key in ("rate", "p50", "p99")}
               for name, rounds in results.items()}
    anchor = medians["off"]
    print(f"POST /v1/projects, {args.submissions} submissions x {args.rounds} rounds per configuration, concurrency "
          f"{args.concurrency} (in-process ASGI, embedded PostgreSQL + Tansu); medians of the rounds")
    print(f"  {'tracing':<12} {'subm/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio to tracing off':>21} "
          f"{'p50 ratio':>10} {'OTLP exports':>13}")
    for name, m in medians.items():
        print(f"  {name:<12} {m['rate']:8.1f} {m['p50']:8.2f} {m['p99']:8.2f} {m['rate'] / anchor['rate']:21.2f} "
              f"{m['p50'] / anchor['p50']:10.2f} {exported[name]:13d}")
    print(f"  (the receiver took {_Receiver.received:,} bytes of spans in all)")
    if exported["otlp"] == 0 or exported["off"] or exported["sampled out"]:
        raise SystemExit("the spans did not go where the configuration says: the numbers above measure nothing")


async def _measure(admin_dsn: str, bootstrap: str, args: argparse.Namespace) -> dict:
    """One configuration (the one this process's OTEL_* variables give): the catalogue as `schuldenlab run` sets
    it up, then the submissions, timed one by one."""
    import httpx
    from opentelemetry import trace

    from schuldenlab.embedded.postgres import ensure_database
    from schuldenlab.services import load_definition
    from servicekit import tracing
    from servicekit.service import create_app
    from tests.support.harness import service_settings

    exporting = tracing.configure("catalogue", os.environ)
    assert exporting is ("OTEL_EXPORTER_OTLP_ENDPOINT" in os.environ), "servicekit.tracing read the variables otherwise"
    dsn = ensure_database(admin_dsn, f"bench_tracing_{uuid.uuid4().hex[:12]}")
    with tempfile.TemporaryDirectory() as home:
        app = create_app(load_definition("catalogue"), service_settings(dsn, bootstrap, Path(home)))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://catalogue") as client:
                timings: list[float] = []

                async def submit(i: int) -> None:
                    started = time.perf_counter()
                    response = await client.post("/v1/projects", json=_dossier(i))
                    timings.append(time.perf_counter() - started)
                    assert response.status_code == 201, response.text

                for i in range(args.warmup):  # connections, caches and the first spans, before the clock runs
                    await submit(i)
                timings.clear()
                numbers = iter(range(args.warmup, args.warmup + args.submissions))

                async def worker() -> None:
                    for i in numbers:
                        await submit(i)

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
                elapsed = time.perf_counter() - started
    provider = trace.get_tracer_provider()
    if exporting:
        provider.force_flush()  # after the clock: what the batch processor still holds goes to the receiver now
    timings.sort()
    return {"rate": len(timings) / elapsed, "p50": statistics.median(timings) * 1000,
            "p99": timings[min(len(timings) - 1, round(len(timings) * 0.99))] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=400, help="timed submissions per round and configuration")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--child", nargs=2, metavar=("ADMIN_DSN", "BOOTSTRAP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT + json.dumps(asyncio.run(_measure(*args.child, args))), flush=True)
    else:
        run(args)


if __name__ == "__main__":
    main()
