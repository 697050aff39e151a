"""`python -m benchmarks` (`make bench`): runs every benchmark in turn; each prints its own numbers."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    ("embedded start-up", ["benchmarks/embedded_startup.py"]),
    ("consumer throughput: assessment and the runtime beside raw and bare batched consumers",
     ["-m", "benchmarks.consumer_throughput"]),
    ("outbox relay beside raw aiokafka pipelined produce", ["-m", "benchmarks.relay_throughput"]),
    ("catalogue throughput and latency", ["-m", "benchmarks.catalogue_throughput"]),
    ("catalogue search (q=) at 1k, 10k, 100k listings", ["-m", "benchmarks.catalogue_search"]),
    ("portfolio fit at 0, 1k, 10k proven projects", ["-m", "benchmarks.portfolio_fit"]),
    ("webhook latency", ["-m", "benchmarks.notifications_latency"]),
    ("list pages and retention (bounded tables)", ["-m", "benchmarks.bounded_tables"]),
    ("partnering rebuilding its catalogue-feed replica from 100k records beside a bare batched consumer",
     ["-m", "benchmarks.feed_rebuild"]),
    ("idle CPU of the platform beside the database and broker alone", ["-m", "benchmarks.idle_cpu"]),
    ("tracing on the submission path: off, exporting over OTLP, sampled out", ["-m", "benchmarks.tracing_cost"]),
)


def main() -> int:
    failed = 0
    for title, args in BENCHMARKS:
        print(f"\n== {title}: python {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, *args]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
