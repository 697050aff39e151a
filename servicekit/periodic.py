"""A background job that runs a pass every so often: retention, re-assessments, rating expiries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from servicekit import db
from servicekit.config import Settings
from servicekit.loglines import RateLimitedLog

log = logging.getLogger(__name__)

# While the database is away, a job says so a few times an hour, not a traceback at every turn.
OUTAGE_LINES_PER_HOUR = 6
MAX_INTERVAL = 86_400.0  # a job runs at least once a day


def interval_setting(settings: Settings, variable: str, default: float) -> float:
    """How often a job runs, from `variable`: seconds above 0 and at most a day (fractions let tests run fast).
    The one reading of such a variable, also where two services read the same one."""
    return settings.decimal(variable, default, above=0, most=MAX_INTERVAL, unit="seconds")


async def every(interval: float, one_pass: Callable[[], Awaitable[object]], *, name: str) -> None:
    """Run `one_pass` now and then every `interval` seconds, until cancelled.

    A pass that fails is logged and tried at the next turn: the database may be away for a moment, and what
    the pass acts on is kept in the database (due times as columns), so nothing is lost by waiting. An
    unavailable database is one short line (rate-limited); any other failure is logged with its traceback.
    """
    outage_log = RateLimitedLog(log, per_window=OUTAGE_LINES_PER_HOUR, window=3600.0)
    while True:
        try:
            await one_pass()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if db.unavailable(exc):
                outage_log.log(logging.WARNING, "%s: the database is unavailable (%s); the next pass in %s s",
                               name, db.describe(exc), interval)
            else:
                log.exception("%s: pass failed; trying again in %s s", name, interval)
        await asyncio.sleep(interval)
