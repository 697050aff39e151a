"""Small helpers for the child processes the CLI starts: free ports, log files, dying with the parent."""

from __future__ import annotations

import contextlib
import ctypes
import socket
import sys
import tempfile
from pathlib import Path
from typing import IO

import psutil

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself listens on TCP `port`: not merely that something answers there."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def open_log(log_path: Path | None) -> IO[bytes]:
    if log_path is None:
        return tempfile.TemporaryFile()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return open(log_path, "ab")


def log_tail(log: IO[bytes] | None, limit: int = 4000) -> str:
    if log is None or log.closed:
        return ""
    # A second open file description: seeking the shared one would move the child's offset.
    try:
        with open(f"/proc/self/fd/{log.fileno()}", "rb") as again:
            return again.read()[-limit:].decode("utf-8", "replace")
    except OSError:
        return ""


def die_with_parent(sig: int):
    """preexec_fn: the kernel sends `sig` to the child when its parent thread dies (Linux only).

    subprocess calls it after switching user, which matters: a credential change clears the
    parent-death signal. The parent is the *thread* that started the child: start children from
    the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Looked up before the fork: the child should not need the dynamic loader's lock.
    prctl = ctypes.CDLL(None).prctl

    def set_signal() -> None:
        # Best effort: a start must never fail on it.
        with contextlib.suppress(Exception):
            prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return set_signal
