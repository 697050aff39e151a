"""`schuldenlab up` as a child process, the way a user starts the platform, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from schuldenlab.processes import free_port

SERVICES = ("catalogue", "assessment", "partnering", "notifications")


def platform_env(home: Path, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """The user's environment without any SCHULDENLAB_* of the developer's, plus the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    env["SCHULDENLAB_HOME"] = str(home)
    env.update({f"SCHULDENLAB_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(extra)
    return env


class Platform:
    """A running `schuldenlab up` and what it printed: URLs, the operator token, the broker address."""

    def __init__(self, home: Path, ports: dict[str, int] | None = None, **extra_env: str) -> None:
        self.ports = ports or {name: free_port() for name in SERVICES}
        self.env = platform_env(home, self.ports, **extra_env)
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "schuldenlab", "up"], env=self.env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output: list[str] = []
        self.ready_after = self._read_until("operator token")
        self.token = self.process.stdout.readline().strip()
        self.kafka = re.search(r"kafka\s+(?:embedded \(memory only\) )?(\S+)", "".join(self.output)).group(1)
        self._reader: threading.Thread | None = None

    def follow(self) -> None:
        """Keep reading what `up` prints (restarts, for one) into `output`, while the test goes on."""
        def read() -> None:
            for line in self.process.stdout:
                self.output.append(line)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    def wait(self, timeout: float) -> int:
        """`up`'s exit code once it ended by itself, with everything it printed read."""
        code = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def printed(self, text: str) -> list[str]:
        return [line for line in list(self.output) if text in line]

    def service(self, name: str) -> psutil.Process:
        """The process of service `name`, as `up` runs it now."""
        for child in psutil.Process(self.process.pid).children():
            if child.cmdline()[-2:] == ["run", name]:
                return child
        raise LookupError(f"{name} is not running")

    def _read_until(self, marker: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.output.append(line)
            if marker in line:
                return time.monotonic() - self.started
            if time.monotonic() > deadline:
                break
        self.process.kill()
        raise AssertionError("platform did not come up:\n" + "".join(self.output))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Another `schuldenlab` command, run by the user beside the platform."""
        return subprocess.run([sys.executable, "-m", "schuldenlab", *args], env=self.env, text=True,
                              capture_output=True, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, list[psutil.Process]]:
        """A supervisor's SIGTERM, or Ctrl-C's SIGINT; returns the exit code and any child left alive."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(sig)
        if self._reader is not None:
            code = self.wait(timeout=60)
        else:
            code = self.process.wait(timeout=60)
            self.output.extend(self.process.stdout.readlines())
        time.sleep(0.5)
        alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        return code, alive


def wait_for(check, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s")
