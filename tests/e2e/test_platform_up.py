"""`schuldenlab up` as a user runs it: the skeleton flow over HTTP and Kafka, a clean stop, data kept."""

from __future__ import annotations

import json
import signal
import socket
import uuid
from datetime import datetime

import asyncpg
import httpx
import psutil
import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.support.kafka import read_topic
from tests.support.platform import SERVICES, Platform, free_port, wait_for

pytestmark = pytest.mark.e2e

async def test_up_runs_the_skeleton_end_to_end_stops_cleanly_and_keeps_its_data(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    platform = Platform(tmp_path, ports)
    try:
        for name in SERVICES:
            assert httpx.get(f"{platform.url(name)}/health/ready").json()["status"] == "ok"

        response = httpx.post(f"{platform.url('catalogue')}/v1/projects", json=KNOWN_PROJECTS[1])
        assert response.status_code == 201, response.text
        project_id = response.json()["id"]

        assessment = wait_for(lambda: (r := httpx.get(
            f"{platform.url('assessment')}/v1/projects/{project_id}/assessment")).status_code == 200 and r.json())
        assert assessment["revision"] == 1

        operator = {"Authorization": f"Bearer {platform.token}"}
        wait_for(lambda: any(e["subject"] == project_id for e in httpx.get(
            f"{platform.url('notifications')}/v1/events", headers=operator).json()["items"]))

        # Each service logs in as its own role (issue 12), never as the administrator `up` keeps to itself.
        admin_url = json.loads((tmp_path / "running.json").read_text())["database_url"]
        conn = await asyncpg.connect(admin_url)
        try:
            logins = {r["application_name"]: r["usename"] for r in await conn.fetch(
                "SELECT DISTINCT application_name, usename FROM pg_stat_activity WHERE application_name LIKE "
                "'schuldenlab-%'")}
        finally:
            await conn.close()
        assert logins == {f"schuldenlab-{name}": f"schuldenlab_{name}" for name in SERVICES}, logins
        assert "postgresql://postgres:***@127.0.0.1:" in "".join(platform.output)  # its password never shown

        [record] = await read_topic(platform.kafka, "catalogue.project-submitted.v1", expect=1)
        headers = {k: v.decode() for k, v in record.headers}
        assert record.key == project_id.encode()
        assert headers["ce_specversion"] == "1.0"
        assert headers["ce_type"] == "nl.schuldenlab.project.submitted.v1"
        assert headers["ce_source"] == "/schuldenlab/catalogue"
        assert headers["ce_subject"] == project_id
        assert headers["content-type"] == "application/json"
        uuid.UUID(headers["ce_id"])
        assert headers["ce_time"].endswith("Z") and datetime.fromisoformat(headers["ce_time"])
    finally:
        code, alive = platform.stop()
    print(f"\ntime to ready: {platform.ready_after:.1f} s")
    assert code == 0, "".join(platform.output)
    assert alive == [], f"left running: {alive}"
    for port in ports.values():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0

    again = Platform(tmp_path, ports)  # the same state directory: the database is found again
    try:
        found = httpx.get(f"{again.url('catalogue')}/v1/projects/{project_id}")
        assert found.status_code == 200 and found.json()["revision"] == 1
    finally:
        code, alive = again.stop(signal.SIGINT)  # Ctrl-C
    assert code == 0 and alive == []


def test_a_killed_up_leaves_no_process_behind(tmp_path):
    platform = Platform(tmp_path)
    children = psutil.Process(platform.process.pid).children(recursive=True)
    assert len(children) >= 6  # four services, PostgreSQL and the broker
    platform.process.kill()  # no chance to clean up: the kernel's parent-death signal must do it
    platform.process.wait()
    _, alive = psutil.wait_procs(children, timeout=30)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left running: {alive}"
