"""A background job that runs a pass every so often: what services schedule by time (re-assessments, expiries)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(interval: float, one_pass: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run `one_pass` now and then every `interval` seconds, until cancelled.

    A pass that fails is logged and tried at the next turn: the database may be away for a moment, and what
    the pass acts on is kept in the database (due times as columns), so nothing is lost by waiting.
    """
    while True:
        try:
            await one_pass()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: pass failed; trying again in %s s", name, interval)
        await asyncio.sleep(interval)
