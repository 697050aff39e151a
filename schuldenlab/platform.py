"""`schuldenlab up`: the whole platform on one machine, each service its own process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path

from schuldenlab.cli import CONFIGURATION_ERROR
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import (
    check_configured_databases,
    embedded_broker,
    embedded_database,
    platform_topics,
)
from schuldenlab.migrations import migrate_services
from schuldenlab.processes import die_with_parent, listens_on
from schuldenlab.roles import service_logins
from schuldenlab.services import SERVICES
from schuldenlab.state import clear_running, signing_key, writable_home, write_running
from servicekit.auth import issue_token
from servicekit.config import ConfigError, Settings
from servicekit.db import masked_url
from servicekit.kafka import check_connection, client_options
from servicekit.loglines import one_line
from servicekit.runner import listening_socket

# A service that dies is started again after a pause that doubles with each death within the window;
# one that dies RESTART_LIMIT times within it is broken, not unlucky, and the platform stops.
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
RESTART_FIRST_PAUSE = 0.5
# Each service bounds its own stop (servicekit.service.STOP_BUDGET, under 10 s); `up` kills one that
# overruns, and leaves the broker and the database the rest of its own 15 s (infrastructure.py).
SERVICE_STOP_SECONDS = 10.0

# Tansu admits a consumer to its group only after half the session timeout, and sits out the whole
# fetch wait even when records arrive (Kafka answers such a long poll at once): shorter for both. 100 ms, not
# less: each idle service fetches ten times a second, and 50 ms cost half as much idle CPU again
# (benchmarks.idle_cpu: 15 % of a core at 100 ms, 20-24 % at 50 ms), for at most 50 ms less per hop.
EMBEDDED_BROKER_TUNING = {"SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "3000", "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": "100"}


class ServiceProcess:
    """One service as a child process of `up`, started again (same log, same settings) when it dies."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._env = env
        self._log = open(log_path, "ab")
        self.restarts = 0
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        # Its own session, so a terminal's Ctrl-C reaches only `up`, which stops the services in order;
        # and SIGTERM from the kernel should `up` itself be killed, so no service outlives it.
        return subprocess.Popen(
            [sys.executable, "-m", "schuldenlab", "run", self.name], env=self._env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def restart(self) -> None:
        self.restarts += 1
        self.process = self._spawn()

    def exited(self) -> int | None:
        return self.process.poll()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {self.name} did not stop within {SERVICE_STOP_SECONDS:.0f} s; killed", file=sys.stderr,
                  flush=True)
            self.process.kill()
            self.process.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def failure(self, what: str, *, debug: bool) -> Exception:
        """Why it stopped, in one line: its own configuration error, else its last log line and where its log is."""
        code = self.exited()
        said = [line for line in self.log_tail(200).splitlines() if line.strip()]
        last = said[-1] if said else "(its log is empty)"
        if code == 2 and last.startswith(CONFIGURATION_ERROR):  # its one line, as `schuldenlab run` printed it
            return ConfigError(f"{self.name} {what}: {last.removeprefix(CONFIGURATION_ERROR)}")
        detail = f"; its log:\n{self.log_tail()}" if debug else f": {one_line(last)} (its log: {self.log_path})"
        return SystemExit(f"{self.name} {what} ({_exit_status(code)}){detail}")


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class _Stop(Exception):
    pass


def up(settings: Settings, *, ready_timeout: float = 90.0) -> int:
    started = time.monotonic()
    # What an operator can get wrong is checked before anything starts, each as one line naming its setting.
    logs = writable_home(settings) / "logs"
    key = signing_key(settings)
    _check_ports(settings)
    asyncio.run(_check_configured(settings))

    def on_signal(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    processes: list[ServiceProcess] = []
    try:
        with embedded_database(settings) as (database_url, db_embedded), \
                embedded_broker(settings) as (bootstrap, kafka_embedded):
            idempotence = settings.kafka_idempotence and not kafka_embedded
            # The operator's login (the general SCHULDENLAB_KAFKA_* settings) checks the topics; the
            # embedded broker needs none.
            admin = {"bootstrap_servers": bootstrap} if kafka_embedded else client_options(settings)
            asyncio.run(ensure_topics(admin, platform_topics()))
            # Each service its own role, owning its schema and nothing else; `up` keeps the administrative URL.
            logins = service_logins(settings, database_url, generate=True)
            for line in asyncio.run(migrate_services(settings, database_url, generate_roles=True)):
                print(f"  migrated {line}")
            env = {**os.environ, "SCHULDENLAB_HOME": str(settings.home),
                   "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                   "SCHULDENLAB_KAFKA_IDEMPOTENCE": "true" if idempotence else "false",
                   "SCHULDENLAB_MIGRATE_ON_START": "false"}
            if kafka_embedded:
                env.update(EMBEDDED_BROKER_TUNING | {k: os.environ[k] for k in EMBEDDED_BROKER_TUNING
                                                     if k in os.environ})
            try:
                processes = [ServiceProcess(name, _own_environment(env, name, logins[name]), logs / f"{name}.log")
                             for name in SERVICES]
                _wait_until_ready(settings, processes, ready_timeout)
                write_running(settings, database_url=database_url, kafka_bootstrap_servers=bootstrap,
                              idempotence=idempotence)
                _print_summary(settings, key, database_url, bootstrap, db_embedded, kafka_embedded,
                               time.monotonic() - started)
                _supervise(settings, processes)
                return 1  # a service kept dying
            finally:
                clear_running(settings)
                _stop_all(processes)
    except _Stop:
        print("\nstopped; nothing left running", flush=True)
        return 0


def _check_ports(settings: Settings) -> None:
    """Every service's port is free (and no two are the same), before anything starts."""
    taken: dict[int, str] = {}
    for name in SERVICES:
        port = settings.ports[name]
        if port in taken:
            raise ConfigError(f"SCHULDENLAB_{name.upper()}_PORT={port}: the same port as "
                              f"SCHULDENLAB_{taken[port].upper()}_PORT; give each service its own")
        taken[port] = name
        listening_socket(settings, name).close()


async def _check_configured(settings: Settings) -> None:
    """A configured database or Kafka answers, before an embedded one is started beside it."""
    await check_configured_databases(settings)
    if settings.kafka_bootstrap_servers:
        # The operator's login: `up` creates the topics with it. Each service checks its own when it starts.
        await check_connection(settings)


def _own_environment(env: dict[str, str], service: str, database_url: str) -> dict[str, str]:
    """What one service's process gets: no administrative database URL, no other service's URL or Kafka login."""
    others = tuple(f"SCHULDENLAB_{name.upper()}_{rest}" for name in SERVICES if name != service
                   for rest in ("DATABASE_URL", "KAFKA_"))
    own = {k: v for k, v in env.items() if not k.startswith(others) and k != "SCHULDENLAB_DATABASE_URL"}
    return own | {f"SCHULDENLAB_{service.upper()}_DATABASE_URL": database_url}


def _wait_until_ready(settings: Settings, processes: list[ServiceProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {p.name: p for p in processes}
    while pending:
        for name, proc in list(pending.items()):
            if proc.exited() is not None:
                raise proc.failure("did not start", debug=settings.log_level == "DEBUG")
            # Its own process must serve the port: another one answering /health/ready there counts for nothing.
            if listens_on(proc.process.pid, settings.ports[name]) and _ready(settings.url_of(name)):
                del pending[name]
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready after {timeout:.0f} s: {', '.join(pending)}; logs in {settings.home / 'logs'}")
        time.sleep(0.1)
    for proc in processes:  # one that was ready may have stopped while the others got there
        if proc.exited() is not None:
            raise proc.failure("did not start", debug=settings.log_level == "DEBUG")


def _print_summary(settings: Settings, key: str, database_url: str, bootstrap: str, db_embedded: bool,
                   kafka_embedded: bool, seconds: float) -> None:
    token = issue_token(key, role="operator", subject="operator", ttl_seconds=12 * 3600)
    print(f"SchuldenlabNL platform ready in {seconds:.1f} s", flush=True)
    for name in SERVICES:
        url = settings.url_of(name)
        print(f"  {name:<14} {url}   docs {url}/docs   events {url}/asyncapi")
    print(f"  website        {settings.url_of('catalogue')}/   (the public site, in Dutch: served by catalogue)")
    print(f"  database       {'embedded ' if db_embedded else ''}{masked_url(database_url)}")
    print(f"  kafka          {'embedded (memory only) ' if kafka_embedded else ''}{bootstrap}")
    print(f"  logs           {settings.home / 'logs'}")
    print(f"operator token (12 h):\n{token}")
    print("Ctrl-C stops everything.", flush=True)


def _supervise(settings: Settings, processes: list[ServiceProcess]) -> None:
    """Start a service again when it dies, while the others keep serving; return when one keeps dying."""
    debug = settings.log_level == "DEBUG"
    deaths: dict[str, deque[float]] = {proc.name: deque() for proc in processes}
    due: dict[str, float] = {}  # when each dead service is to be started again
    restarted: dict[str, float] = {}  # when each restarted service was started, until it serves again
    while True:
        now = time.monotonic()
        for proc in processes:
            if proc.name in due:
                if now >= due[proc.name]:
                    del due[proc.name]
                    proc.restart()
                    restarted[proc.name] = now
                continue
            if proc.exited() is None:
                if proc.name in restarted and _serves(settings, proc):
                    print(f"{proc.name} serving again, {now - restarted.pop(proc.name):.1f} s after its restart",
                          flush=True)
                continue
            restarted.pop(proc.name, None)
            recent = deaths[proc.name]
            recent.append(now)
            while now - recent[0] > RESTART_WINDOW:
                recent.popleft()
            why = proc.failure("stopped unexpectedly", debug=False)
            if len(recent) >= RESTART_LIMIT:
                print(f"{why}; it stopped {len(recent)} times within {RESTART_WINDOW:.0f} s, so the platform stops; "
                      f"its log:\n{proc.log_tail()}", file=sys.stderr, flush=True)
                return
            # Doubling pauses: a service that dies at once again does not spin, one that died once is soon back.
            pause = RESTART_FIRST_PAUSE * 2 ** (len(recent) - 1)
            print(f"{why}; starting it again in {pause:.1f} s (restart {proc.restarts + 1})", flush=True)
            if debug:
                print(proc.log_tail(), flush=True)
            due[proc.name] = now + pause
        time.sleep(0.2)


def _serves(settings: Settings, proc: ServiceProcess) -> bool:
    return listens_on(proc.process.pid, settings.ports[proc.name]) and _ready(settings.url_of(proc.name))


def _stop_all(processes: list[ServiceProcess]) -> None:
    # Ignore further Ctrl-C while we shut down, so nothing is left half-stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for proc in processes:
        proc.terminate()
    deadline = time.monotonic() + SERVICE_STOP_SECONDS
    for proc in processes:
        proc.wait_or_kill(deadline)
