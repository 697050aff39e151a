"""The runtime's periodic job loop: a failing pass never ends the job; an outage is a short line, not a traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from servicekit import periodic
from servicekit.db import DatabaseUnavailable


async def _run_passes(outcomes: list[Exception | None]) -> int:
    """Runs the job until every outcome was played (None: the pass succeeds); returns the passes made."""
    made = 0
    done = asyncio.Event()

    async def one_pass() -> None:
        nonlocal made
        outcome = outcomes[made]
        made += 1
        if made == len(outcomes):
            done.set()
        if outcome is not None:
            raise outcome

    job = asyncio.create_task(periodic.every(0.001, one_pass, name="test job"))
    await asyncio.wait_for(done.wait(), 5)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    return made


async def test_a_job_goes_on_after_a_failed_pass_and_logs_the_failure_with_its_traceback(caplog):
    with caplog.at_level(logging.WARNING, logger="servicekit.periodic"):
        assert await _run_passes([RuntimeError("boom"), None, None]) == 3
    [line] = caplog.records
    assert line.levelno == logging.ERROR and "test job: pass failed" in line.getMessage() and line.exc_info


async def test_an_unavailable_database_is_a_rate_limited_line_without_a_traceback(caplog):
    outage = DatabaseUnavailable("connection refused")
    with caplog.at_level(logging.WARNING, logger="servicekit.periodic"):
        assert await _run_passes([outage] * (periodic.OUTAGE_LINES_PER_HOUR + 4) + [None]) > 0
    lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(lines) == periodic.OUTAGE_LINES_PER_HOUR
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in lines)
    assert "test job: the database is unavailable (connection refused)" in lines[0].getMessage()
