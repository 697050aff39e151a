"""`up` counts a service as ready only when the process it started serves the port, not whoever answers there."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from schuldenlab.platform import _wait_until_ready
from schuldenlab.processes import free_port
from servicekit.config import Settings

pytestmark = pytest.mark.integration

# A stand-in service: answers /health/ready with 200 on the port it is given.
SERVES_READY = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Ready(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"status": "ok"}')
HTTPServer(("127.0.0.1", int(sys.argv[1])), Ready).serve_forever()
"""


class StartedProcess:
    """What `up` knows of a service it started: its name, its process, its log."""

    def __init__(self, name: str, args: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen([sys.executable, *args], stdout=self._log, stderr=subprocess.STDOUT)

    def exited(self) -> int | None:
        return self.process.poll()

    def failure(self, what: str, *, debug: bool) -> Exception:
        return SystemExit(f"{self.name} {what}")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self._log.close()


class Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok", "checks": {"database": "ok", "broker": "ok"}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[int]:
    """Another process's server on a port, answering /health/ready like a healthy service."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def settings_with(port: int) -> Settings:
    return Settings.from_env({"SCHULDENLAB_CATALOGUE_PORT": str(port)})


def test_a_stranger_answering_ready_on_the_port_does_not_make_the_service_ready(stranger, tmp_path):
    # The service started but is still starting (it has not bound its port): the stranger answers.
    service = StartedProcess("catalogue", ["-c", "import time; time.sleep(60)"], tmp_path / "catalogue.log")
    try:
        with pytest.raises(SystemExit, match="not ready after 2 s: catalogue"):
            _wait_until_ready(settings_with(stranger), [service], timeout=2)
    finally:
        service.stop()


def test_the_service_is_ready_when_its_own_process_answers_on_the_port(tmp_path):
    # The counterpart of the test above: the check must not keep a real service from being ready.
    port = free_port()
    service = StartedProcess("catalogue", ["-c", SERVES_READY, str(port)], tmp_path / "catalogue.log")
    try:
        _wait_until_ready(settings_with(port), [service], timeout=30)
    finally:
        service.stop()

