"""`schuldenlab run catalogue` as a container runs it, for the e2e tests that drive one service as a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from schuldenlab.processes import free_port
from tests.support.harness import TEST_SIGNING_KEY, own_role


@contextlib.contextmanager
def running_catalogue(database: str, kafka: str, home: Path, **env: str) -> Iterator[str]:
    """The process, logged in as a role of its own (`run` refuses a superuser's); its URL once it is ready."""
    port = free_port()
    own = asyncio.run(own_role(database, "catalogue"))
    env = {**os.environ, "SCHULDENLAB_HOME": str(home), "SCHULDENLAB_DATABASE_URL": own,
           "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": kafka, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
           "SCHULDENLAB_JWT_SECRET": TEST_SIGNING_KEY, "SCHULDENLAB_CATALOGUE_PORT": str(port), **env}
    with open(home / "catalogue.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "schuldenlab", "run", "catalogue"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((home / "catalogue.log").read_text())
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
