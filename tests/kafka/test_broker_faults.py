"""Faults an operator meets on a real cluster, under a steady load of submissions: zero lost, zero duplicated.

The services run their own Kafka principals with exactly the ACLs of `schuldenlab acls`; the brokers
are processes, killed and restarted from outside like an operator (or the kernel) would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from schuldenlab.processes import die_with_parent, free_port
from tests.support.apache_kafka import KafkaCluster, admin_endpoint
from tests.support.harness import TEST_SIGNING_KEY, own_role, running_service, service_settings
from tests.support.kafka import kafka_options
from tests.support.load import Ledger, Outcome, report, settle, submit_steadily, topic_tally, watch_assessment


def _verdict(outcome: Outcome) -> None:
    assert outcome.acknowledged > 100, outcome  # the load really ran through the fault
    assert (outcome.lost, outcome.duplicate_effects, outcome.missing_on_topic) == (0, 0, 0), outcome


async def _fully_replicated(endpoint, timeout: float = 90.0) -> None:
    """Until every partition of every topic has all its replicas in sync again."""
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(**kafka_options(endpoint))
        try:
            await admin.start()
            topics = await admin.describe_topics()
            lagging = [(t.get("topic") or t.get("name"), p.get("partition", p.get("partition_index")))
                       for t in topics for p in t["partitions"]
                       if len(p.get("isr", p.get("isr_nodes", ()))) < len(p.get("replicas", p.get("replica_nodes")))]
            if not lagging:
                return
        except Exception as exc:  # a broker on its way up may refuse a connection: ask again
            lagging = [repr(exc)]
        finally:
            await admin.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"not fully replicated within {timeout} s: {lagging[:5]}")
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def _pipeline(cluster: KafkaCluster, database: str, home: Path):
    """Catalogue and assessment in this process, each logged in as itself, and a ledger of the load."""
    settings = service_settings(database, admin_endpoint(cluster), home, **cluster.services_env())
    ledger, stop = Ledger(), asyncio.Event()
    async with running_service("catalogue", settings) as catalogue, running_service("assessment", settings):
        watcher = asyncio.create_task(watch_assessment(database, ledger, stop))
        try:
            yield catalogue, ledger
        finally:
            stop.set()
            await watcher


async def test_a_broker_killed_under_load_and_restarted_loses_and_duplicates_nothing(
        cluster: KafkaCluster, fresh_database, tmp_path):
    async with _pipeline(cluster, fresh_database, tmp_path) as (catalogue, ledger):
        load = asyncio.create_task(submit_steadily(catalogue.client, ledger, seconds=30))
        await asyncio.sleep(8)
        victim = 1
        fault_at = time.monotonic()
        cluster.kill_node(victim)  # SIGKILL: no controlled shutdown, no leadership handed over
        await asyncio.sleep(10)
        cluster.start_node(victim)
        await load
        counts = await settle(ledger, fresh_database)
        missing, duplicates = await topic_tally(admin_endpoint(cluster), ledger)
        recovery = ledger.recovery_after(fault_at)
    _verdict(report("broker failover (SIGKILL of 1 of 3, restarted 10 s later)", ledger, counts, missing,
                    duplicates, recovery))
    await _fully_replicated(admin_endpoint(cluster))


async def test_a_rolling_restart_of_every_broker_under_load_loses_and_duplicates_nothing(
        cluster: KafkaCluster, fresh_database, tmp_path):
    endpoint = admin_endpoint(cluster)
    async with _pipeline(cluster, fresh_database, tmp_path) as (catalogue, ledger):
        load = asyncio.create_task(submit_steadily(catalogue.client, ledger, seconds=3600))
        await asyncio.sleep(4)
        for node in cluster.nodes:
            # As an operator does it: one broker at a time, the next only once all replicas are in sync.
            await asyncio.to_thread(cluster.stop_node, node.node_id)
            cluster.start_node(node.node_id)  # from this (the main) thread: the JVM dies with it, not a worker's
            await _fully_replicated(endpoint)
        await asyncio.sleep(3)
        load.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await load
        counts = await settle(ledger, fresh_database)
        missing, duplicates = await topic_tally(endpoint, ledger)
    _verdict(report("rolling restart of all 3 brokers", ledger, counts, missing, duplicates, None))


def _assessment_process(database: str, cluster: KafkaCluster, home: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    env.update(cluster.services_env())
    env.update({"SCHULDENLAB_HOME": str(home), "SCHULDENLAB_DATABASE_URL": database,
                "SCHULDENLAB_JWT_SECRET": TEST_SIGNING_KEY, "SCHULDENLAB_ASSESSMENT_PORT": str(port),
                "SCHULDENLAB_OUTBOX_POLL_INTERVAL": "0.5"})
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "assessment.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "schuldenlab", "run", "assessment"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, preexec_fn=die_with_parent(signal.SIGKILL))
    return process, port


async def _group_members(endpoint, group: str) -> int:
    admin = AIOKafkaAdminClient(**kafka_options(endpoint))
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
        return len(response.to_object()["groups"][0]["members"])
    finally:
        await admin.close()


async def _ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def test_when_one_of_two_assessment_replicas_is_killed_the_other_takes_over_without_loss_or_duplicates(
        cluster: KafkaCluster, fresh_database, tmp_path):
    endpoint = admin_endpoint(cluster)
    settings = service_settings(fresh_database, endpoint, tmp_path, **cluster.services_env())
    own = await own_role(fresh_database, "assessment")  # `schuldenlab run` refuses a superuser's login
    replicas = [_assessment_process(own, cluster, tmp_path / f"assessment-{i}") for i in (1, 2)]
    ledger, stop = Ledger(), asyncio.Event()
    try:
        deadline = time.monotonic() + 90
        while not all([await _ready(port) for _, port in replicas]) or await _group_members(endpoint,
                                                                                            "assessment") < 2:
            assert time.monotonic() < deadline, "the two assessment replicas did not both join their group"
            assert all(p.poll() is None for p, _ in replicas), "an assessment replica exited during start-up"
            await asyncio.sleep(0.5)
        async with running_service("catalogue", settings) as catalogue:
            watcher = asyncio.create_task(watch_assessment(fresh_database, ledger, stop))
            load = asyncio.create_task(submit_steadily(catalogue.client, ledger, seconds=30))
            await asyncio.sleep(8)
            fault_at = time.monotonic()
            replicas[0][0].kill()  # SIGKILL mid-load: its uncommitted offsets go to the survivor
            replicas[0][0].wait()
            await load
            counts = await settle(ledger, fresh_database)
            missing, duplicates = await topic_tally(endpoint, ledger)
            stop.set()
            await watcher
        assert replicas[1][0].poll() is None, "the surviving replica died"
        assert await _group_members(endpoint, "assessment") == 1
    finally:
        for process, _ in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in replicas:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    _verdict(report("rebalance (SIGKILL of 1 of 2 assessment replicas)", ledger, counts, missing, duplicates,
                    ledger.recovery_after(fault_at)))
