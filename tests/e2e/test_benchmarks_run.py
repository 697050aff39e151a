"""Every benchmark still runs (at a tiny size), so the numbers in the closing notes can be reproduced."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("args, prints", [
    (["benchmarks/embedded_startup.py", "1"], "tansu start"),
    (["-m", "benchmarks.consumer_throughput", "--events", "30", "--rounds", "1"], "ratio to bare batched"),
    (["-m", "benchmarks.relay_throughput", "--events", "30", "--rounds", "1"], "ratio to raw produce"),
    (["-m", "benchmarks.catalogue_throughput", "--submissions", "5", "--listed", "20", "--rounds", "2"],
     "GET /v1/catalogue"),
    (["-m", "benchmarks.notifications_latency", "--rounds", "3"], "median"),
    (["-m", "benchmarks.catalogue_search", "--sizes", "30,200", "--requests", "3"], "ratio"),
    (["-m", "benchmarks.portfolio_fit", "--sizes", "0,20", "--events", "3", "--rounds", "1"], "ratio to empty"),
    (["-m", "benchmarks.bounded_tables", "--sizes", "30,120", "--requests", "3", "--rows", "2500"], "ratio"),
    (["-m", "benchmarks.feed_rebuild", "--records", "300"], "ratio to bare batched"),
    (["-m", "benchmarks.idle_cpu", "--seconds", "3", "--settle", "1"], "ratio platform / database and broker alone"),
    (["-m", "benchmarks.tracing_cost", "--submissions", "3", "--rounds", "1", "--warmup", "1"], "ratio to tracing off"),
])
def test_the_benchmark_runs_and_prints_its_numbers(args, prints):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert prints in done.stdout
