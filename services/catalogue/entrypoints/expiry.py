"""The rating expiry job: a background job of the catalogue runtime that republishes ratings that ran out.

The listing hides an expired rating by the clock already (`valid_until`); this job makes the feed say so on
time, without anyone reading. What is due is a column (`projects.rating_expires_at`), so a restart loses
nothing, and due rows are taken with FOR UPDATE SKIP LOCKED, so with several replicas each expiry is
published once.
"""

from __future__ import annotations

import logging

from catalogue.service_layer import handlers
from servicekit import periodic
from servicekit.config import Settings
from servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)

INTERVAL = "SCHULDENLAB_RATING_CHECK_INTERVAL"  # the same variable paces assessment's re-assessment scheduler
DEFAULT_INTERVAL = 60.0


def check_interval(settings: Settings) -> float:
    return periodic.interval_setting(settings, INTERVAL, DEFAULT_INTERVAL)


async def run_once(runtime: ServiceRuntime) -> int:
    published = 0
    while True:
        async with runtime.transaction() as uow:
            batch = await handlers.publish_expiries(uow)
        published += len(batch)
        if not batch:
            return published


async def publish_expired_ratings(runtime: ServiceRuntime) -> None:
    await periodic.every(check_interval(runtime.settings), lambda: run_once(runtime), name="rating expiry job")
