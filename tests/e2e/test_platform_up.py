"""`schuldenlab up` as a user runs it: the skeleton flow over HTTP and Kafka, a clean stop, data kept."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime

import httpx
import psutil
import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.support.kafka import read_topic

pytestmark = pytest.mark.e2e

SERVICES = ("catalogue", "assessment", "partnering", "notifications")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    """A `schuldenlab up` process and what it printed."""

    def __init__(self, home, ports: dict[str, int]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
        env["SCHULDENLAB_HOME"] = str(home)
        env.update({f"SCHULDENLAB_{name.upper()}_PORT": str(port) for name, port in ports.items()})
        self.ports = ports
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "schuldenlab", "up"], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output: list[str] = []
        self.ready_after = self._read_until("operator token")
        self.token = self.process.stdout.readline().strip()
        self.kafka = re.search(r"kafka\s+embedded \(memory only\) (\S+)", "".join(self.output)).group(1)

    def _read_until(self, marker: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.output.append(line)
            if marker in line:
                return time.monotonic() - self.started
            if time.monotonic() > deadline:
                break
        raise AssertionError("platform did not come up:\n" + "".join(self.output))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def stop(self) -> tuple[int, list[psutil.Process]]:
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.output.extend(self.process.stdout.readlines())
        time.sleep(0.5)
        alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        return code, alive


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


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
            f"{platform.url('notifications')}/v1/events", headers=operator).json()))

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
        code, alive = again.stop()
    assert code == 0 and alive == []
