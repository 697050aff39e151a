"""Seconds to readiness and to a full stop for the embedded PostgreSQL server and Tansu broker."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres

ROUNDS = 5


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(rounds: int = ROUNDS) -> None:
    results: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)

    for _ in range(rounds):
        # A fresh directory each round, so "first start" always includes initdb.
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedPostgres(Path(tmp) / "data")
            record("postgres first start (initdb + ready)", timed(server.start))
            record("postgres stop", timed(server.stop))
            record("postgres restart on existing data", timed(server.start))
            record("postgres stop after restart", timed(server.stop))
        broker = EmbeddedKafka()
        record("tansu start (answers Metadata)", timed(broker.start))
        record("tansu stop", timed(broker.stop))

    width = max(map(len, results))
    print(f"{'':{width}}  median    min      max   ({rounds} rounds, seconds)")
    for name, samples in results.items():
        print(
            f"{name:{width}}  {statistics.median(samples):.3f}  "
            f"{min(samples):.3f}  {max(samples):.3f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
