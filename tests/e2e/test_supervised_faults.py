"""Fault tests (issue 11, items 4, 5 and 8) on the platform as `schuldenlab up` runs it: supervised processes.

- kill -9 of each service in turn under a load of submissions: `up` starts it again while the others
  keep serving; every acknowledged submission is applied once downstream;
- a service that keeps dying stops the platform, with its log tail;
- stopping is bounded with the broker and the database frozen, and leaves no process behind;
- a 1.5 MB invalid record ahead of a valid event on the same partition: the valid event is processed.

The numbers go to the run's summary (tests/support/load.py: MEASURED) for the closing note.
"""

from __future__ import annotations

import asyncio
import signal
import time

import asyncpg
import httpx
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from schuldenlab.services import load_definition
from servicekit.consumer import dead_letter_topic, topics_for
from tests.integration.catalogue.catalogue_support import dossier
from tests.integration.runtime.support import event_for, record_of
from tests.support.kafka import kafka_options, read_to_end
from tests.support.load import Ledger, measure, settle, submit_steadily, watch_assessment
from tests.support.own_postgres import OwnPostgres
from tests.support.platform import SERVICES, Platform, wait_for

pytestmark = pytest.mark.e2e

SUBMITTED = "catalogue.project-submitted.v1"


def _serving_again(platform: Platform, name: str, old_pid: int) -> float:
    """When service `name` answers ready again from a new process (polled every 50 ms)."""
    def ready() -> bool:
        try:
            if platform.service(name).pid == old_pid:
                return False
            return httpx.get(f"{platform.url(name)}/health/ready", timeout=1).status_code == 200
        except (LookupError, psutil.Error, httpx.HTTPError):
            return False

    wait_for(ready, timeout=30, interval=0.05)
    return time.monotonic()


async def _submissions_seen_by_notifications(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT subject, count(*) AS n FROM notifications.received_events "
                                "WHERE ce_type = 'nl.schuldenlab.project.submitted.v1' GROUP BY subject")
        return {r["subject"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def test_each_service_killed_under_load_is_started_again_and_nothing_is_lost_or_duplicated(tmp_path):
    with OwnPostgres(tmp_path / "postgres") as postgres:
        dsn = postgres.database("platform")
        platform = Platform(tmp_path / "home", SCHULDENLAB_DATABASE_URL=dsn)
        platform.follow()
        ledger, recovery = Ledger(), {}
        try:
            done = asyncio.Event()
            async with httpx.AsyncClient(base_url=platform.url("catalogue"), timeout=10) as client:
                watcher = asyncio.create_task(watch_assessment(dsn, ledger, done))
                load = asyncio.create_task(submit_steadily(client, ledger, seconds=120, per_second=20, until=done))
                await asyncio.sleep(1.5)
                for name in SERVICES:
                    victim = platform.service(name)
                    killed_at = time.monotonic()
                    victim.kill()  # SIGKILL: no goodbye, no offset commit, no last relay pass
                    recovery[name] = await asyncio.to_thread(_serving_again, platform, name, victim.pid) - killed_at
                    await asyncio.sleep(1.0)
                done.set()
                await load
                counts = await settle(ledger, dsn, timeout=90)
                await watcher
            # Notifications was killed last: give it the time to catch up that settle gave assessment.
            deadline = time.monotonic() + 60
            while set(ledger.acknowledged) - set(notified := await _submissions_seen_by_notifications(dsn)):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        finally:
            code, alive = platform.stop()
    acknowledged = set(ledger.acknowledged)
    lost_downstream = len(acknowledged - set(counts))
    duplicated = sum(n - 1 for p, n in counts.items() if n > 1) + sum(n - 1 for n in notified.values() if n > 1)
    measure(f"kill -9 of each service under load (`up` supervising): {len(acknowledged)} acknowledged, "
            f"{ledger.refused} refused or unanswered; lost in assessment {lost_downstream}, missing in "
            f"notifications {len(acknowledged - set(notified))}, duplicate effects {duplicated}; serving again "
            "after " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in recovery.items()))
    assert len(acknowledged) > 100, ledger.refused  # the load really ran through the faults
    assert lost_downstream == 0 and acknowledged <= set(notified)
    assert duplicated == 0
    for name in SERVICES:
        assert platform.printed(f"{name} stopped unexpectedly (killed by SIGKILL)"), "".join(platform.output)
        assert platform.printed(f"{name} serving again"), "".join(platform.output)
        assert recovery[name] < 15, recovery  # within seconds: a pause of 0.5 s, then its start
    assert code == 0 and alive == []


def test_a_service_that_keeps_dying_stops_the_platform_with_its_log_tail(tmp_path):
    platform = Platform(tmp_path)
    platform.follow()
    others = psutil.Process(platform.process.pid).children(recursive=True)
    kills, last_pid, deadline = 0, None, time.monotonic() + 60
    while platform.process.poll() is None and time.monotonic() < deadline:
        try:
            victim = platform.service("partnering")
            if victim.pid != last_pid:
                victim.kill()
                last_pid, kills = victim.pid, kills + 1
        except (LookupError, psutil.Error):
            pass
        time.sleep(0.02)
    code = platform.wait(timeout=30)
    output = "".join(platform.output)
    assert code == 1, output
    assert kills == 5, output
    deaths = platform.printed("partnering stopped unexpectedly (killed by SIGKILL)")
    assert len(deaths) == 5 and all("starting it again" in line for line in deaths[:4]), output
    assert platform.printed("it stopped 5 times within 60 s, so the platform stops; its log:"), output
    assert "serving on http://" in output  # the tail of the service's own log follows
    _, alive = psutil.wait_procs(others, timeout=5)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def _freeze(processes: list[psutil.Process]) -> None:
    for process in processes:
        process.send_signal(signal.SIGSTOP)


def test_stopping_is_bounded_with_the_broker_and_the_database_frozen(tmp_path):
    platform = Platform(tmp_path)
    platform.follow()
    try:
        # Something for the relay's last pass and the consumers to be busy with when everything freezes.
        for n in range(5):
            response = httpx.post(f"{platform.url('catalogue')}/v1/projects",
                                  json=dossier(n % 4, name=f"Bevroren project {n}"), timeout=10)
            assert response.status_code == 201, response.text
        services = {platform.service(name).pid for name in SERVICES}
        infrastructure = [p for p in psutil.Process(platform.process.pid).children() if p.pid not in services]
        postgres = [p for p in infrastructure if p.name() == "postgres"]
        assert len(postgres) == 1 and len(infrastructure) == 2, infrastructure  # the postmaster and the broker
        # The postmaster first, so it forks nothing new; then every backend (each its own session).
        _freeze([*infrastructure, *postgres[0].children(recursive=True)])
    finally:
        started = time.monotonic()
        code, alive = platform.stop()
        took = time.monotonic() - started
    output = "".join(platform.output)
    measure(f"`up` stopped with the broker and the database frozen in {took:.1f} s")
    assert code == 0, output
    assert alive == [], alive
    assert took < 15, output
    assert not platform.printed("did not stop within"), output  # each service stopped by itself


async def test_an_invalid_record_of_1_5_mb_does_not_stop_the_partition_for_any_consumer(tmp_path):
    platform = Platform(tmp_path)
    try:
        good = record_of(event_for("Na het gif"))
        poison = b'{"note": "' + b"x" * (1_500_000 - 12) + b'"}'  # valid JSON that breaks the contract
        producer = AIOKafkaProducer(**kafka_options(platform.kafka), acks="all", max_request_size=4 * 1024 * 1024)
        await producer.start()
        try:
            # The same key: the same partition, the poison first.
            await producer.send_and_wait(SUBMITTED, value=poison, key=good.key, headers=list(good.headers))
            await producer.send_and_wait(SUBMITTED, value=good.value, key=good.key, headers=list(good.headers))
        finally:
            await producer.stop()
        project = good.key.decode()
        wait_for(lambda: httpx.get(f"{platform.url('assessment')}/v1/projects/{project}/assessment").status_code
                 == 200, timeout=60)
        consumers = [name for name in SERVICES if SUBMITTED in topics_for(load_definition(name).handlers)]
        dead = {}
        for name in consumers:
            deadline = time.monotonic() + 30
            while not (records := await read_to_end(platform.kafka, dead_letter_topic(name))):
                assert time.monotonic() < deadline, f"{name} dead-lettered nothing"
                await asyncio.sleep(0.5)
            dead[name] = records
    finally:
        platform.stop()
    assert {"assessment", "notifications"} <= set(consumers)
    for name, records in dead.items():
        [record] = records
        assert record.key == good.key, name
    measure("1.5 MB invalid record ahead of a valid event: the valid one applied; dead-lettered by "
            + ", ".join(f"{name} ({len(records[0].value or b'')} bytes kept)" for name, records in dead.items()))
