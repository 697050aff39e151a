"""Serving a service app in the foreground (what `schuldenlab run SERVICE` and a container do)."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiokafka is chatty at INFO about every rebalance step; warnings are what operators need.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def serve(app: FastAPI, *, host: str, port: int, log_level: str = "INFO") -> None:
    """Run until SIGINT/SIGTERM; uvicorn then runs the lifespan shutdown (broker, relay, pool)."""
    configure_logging(log_level)
    uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False,
                timeout_graceful_shutdown=10)
