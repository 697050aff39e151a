"""The re-assessment scheduler: a background job of the assessment runtime, acting on time like a route on a request.

It keeps no state of its own: what is due is a column of `ratings` (`notice_at`), so a restart loses nothing,
and each pass takes the due rows with FOR UPDATE SKIP LOCKED, so with several replicas each due rating gets
one round and one ReassessmentDue (the round and the event commit in the rating's transaction).
"""

from __future__ import annotations

import logging

from assessment.config import RatingSettings
from assessment.service_layer import reassessment
from servicekit import periodic
from servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)


async def run_once(runtime: ServiceRuntime) -> int:
    """One pass: opens every due re-assessment, a batch per transaction; returns how many it opened."""
    opened = 0
    while True:
        async with runtime.transaction() as uow:
            batch = await reassessment.open_due_reassessments(uow)
        for round_ in batch:
            log.info("re-assessment round %s opened for project %s: its rating runs out soon",
                     round_.id, round_.project_id)
        opened += len(batch)
        if not batch:
            return opened


async def open_reassessments(runtime: ServiceRuntime) -> None:
    interval = RatingSettings.from_settings(runtime.settings).check_interval
    await periodic.every(interval, lambda: run_once(runtime), name="re-assessment scheduler")
