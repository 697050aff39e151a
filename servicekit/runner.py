"""Serving a service app in the foreground (what `schuldenlab run SERVICE` and a container do)."""

from __future__ import annotations

import errno
import logging
import socket
import sys

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from servicekit import logs
from servicekit.config import ConfigError, Settings

log = logging.getLogger(__name__)

# Requests in flight get this long to finish at a stop; then the runtime stops (servicekit.service.STOP_BUDGET).
REQUESTS_STOP_SECONDS = 3


def listening_socket(settings: Settings, service: str) -> socket.socket:
    """The service's HTTP socket, bound; a port that cannot be had is one line naming the setting to change.

    Bound before the service starts anything (and handed to uvicorn, which would otherwise bind only
    after the start-up), so a taken port stops it at once. SO_REUSEADDR as uvicorn sets it: a port
    that only has connections of an earlier run in TIME_WAIT is free.
    """
    host, port, variable = settings.bind_host, settings.ports[service], f"SCHULDENLAB_{service.upper()}_PORT"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        raise ConfigError(_why_not_bound(exc, host, port, variable)) from exc
    sock.set_inheritable(True)
    return sock


def _why_not_bound(exc: OSError | OverflowError, host: str, port: int, variable: str) -> str:
    if isinstance(exc, OverflowError):
        return f"{variable}={port}: not a TCP port (1-65535)"
    if exc.errno == errno.EADDRINUSE:
        return (f"{variable}={port}: another process already listens on {host}:{port}; stop it or set {variable} "
                "to a free port")
    if exc.errno == errno.EACCES:
        return f"{variable}={port}: this user may not listen on port {port} ({exc.strerror}); choose a port above 1023"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"SCHULDENLAB_BIND_HOST={host}: not an address of this machine ({exc.strerror})"
    return f"{variable}={port}: cannot listen on {host}:{port} ({exc.strerror or exc})"


def serve(app: FastAPI, listener: socket.socket, *, log_level: str = "INFO") -> None:
    """Run on `listener` until SIGINT/SIGTERM; uvicorn then runs the lifespan shutdown (broker, relay, pool)."""
    runtime = app.state.runtime
    logs.configure(runtime.definition.name, level=log_level, log_format=logs.log_format(runtime.settings))
    # uvloop and httptools (uvicorn[standard]) by name, not uvicorn's "auto": an installation without them
    # fails at the start instead of quietly serving on the slower pure-Python loop and parser.
    # log_config=None: uvicorn installs no handler or formatter of its own, so its lines reach the one handler
    # servicekit.logs put on the root; its access log stays off (servicekit.access writes the one line).
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level.lower(), log_config=None, access_log=False,
                                           loop="uvloop", http="httptools",
                                           timeout_graceful_shutdown=REQUESTS_STOP_SECONDS))
    host, port = listener.getsockname()[:2]
    log.info("serving on http://%s:%s", host, port)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn raises the SIGINT it stopped on again once it has stopped: done
        pass
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as uvicorn.run does: a start-up that failed is a non-zero exit
