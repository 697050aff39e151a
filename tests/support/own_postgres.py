"""A PostgreSQL server of one test's own, which the test stops, freezes and restarts as a fault would."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Self

import psutil

from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.processes import free_port


class OwnPostgres:
    """An embedded PostgreSQL on a port of its own that stays the same across restarts, so clients find it again."""

    def __init__(self, root: Path) -> None:
        self._server = EmbeddedPostgres(root / "data", port=free_port(), log_path=root / "postgres.log")
        self._frozen: list[psutil.Process] = []

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        """A fast shutdown (SIGINT): the server ends every session and from then on refuses connections."""
        self.thaw()
        self._server.stop()

    def database(self, name: str) -> str:
        """The DSN of database `name` on this server (created if need be); it survives restarts."""
        return ensure_database(self._server.dsn, name)

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open, but nothing answers.

        Backends are not in the postmaster's process group (each child calls setsid), so each is stopped
        by its pid; the postmaster first, so it forks no new one meanwhile.
        """
        postmaster = psutil.Process(int((self._server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]))
        postmaster.send_signal(signal.SIGSTOP)
        self._frozen = [postmaster, *postmaster.children(recursive=True)]
        for child in self._frozen[1:]:
            child.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in reversed(self._frozen):
            try:
                process.send_signal(signal.SIGCONT)
            except psutil.NoSuchProcess:
                pass
        self._frozen = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
