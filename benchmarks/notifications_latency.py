"""Seconds from POST /v1/projects on catalogue to the signed webhook arriving at a receiver (median, worst).

Catalogue and notifications run in this process (their full ASGI apps with lifespan: pools, outbox relays,
consumers, the delivery worker) against a real embedded PostgreSQL and a real embedded Tansu broker. The
submission goes through httpx's ASGI transport; the webhook travels over real HTTP on loopback to a small
receiver, which timestamps its arrival. Submissions are sequential, so each number is one event's latency.

Run: .venv/bin/python -m benchmarks.notifications_latency [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from tests.support.harness import auth, running_service, service_settings
from tests.support.webhooks import webhook_receiver


async def _run(database: str, kafka: str, home: Path, rounds: int) -> list[float]:
    settings = service_settings(database, kafka, home, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
                                SCHULDENLAB_WEBHOOK_POLL_INTERVAL="1.0")
    latencies: list[float] = []
    async with webhook_receiver() as receiver, running_service("catalogue", settings) as catalogue, \
            running_service("notifications", settings) as notifications:
        r = await notifications.client.post(
            "/v1/subscriptions", headers=auth("integrator", "bench"),
            json={"url": receiver.url, "event_types": ["nl.schuldenlab.project.submitted.v1"]})
        assert r.status_code == 201, r.text
        await asyncio.sleep(2)  # let the consumer join its group before the clock starts
        for i in range(rounds):
            dossier = copy.deepcopy(KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)])
            dossier["name"] = f"{dossier['name']} {i}"
            seen = len(receiver.requests)
            started = time.monotonic()
            response = await catalogue.client.post("/v1/projects", json=dossier)
            assert response.status_code == 201, response.text
            project_id = response.json()["id"]
            deadline = started + 30
            while True:
                arrived = [q for q in receiver.requests[seen:] if json.loads(q.body)["subject"] == project_id]
                if arrived:
                    latencies.append(arrived[0].at - started)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no webhook for {project_id} within 30 s")
                await asyncio.sleep(0.001)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as postgres, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as broker:
        asyncio.run(ensure_topics({"bootstrap_servers": broker.bootstrap_servers}, platform_topics()))
        database = ensure_database(postgres.dsn, "bench_notifications")
        latencies = asyncio.run(_run(database, broker.bootstrap_servers, Path(tmp) / "home", args.rounds))
    ms = sorted(x * 1000 for x in latencies)
    print(f"POST /v1/projects -> signed webhook received, {len(ms)} sequential submissions")
    print("  catalogue + notifications in-process, embedded PostgreSQL + Tansu, receiver on 127.0.0.1")
    print(f"  median {statistics.median(ms):.1f} ms   p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms   "
          f"worst {ms[-1]:.1f} ms   best {ms[0]:.1f} ms")


if __name__ == "__main__":
    main()
