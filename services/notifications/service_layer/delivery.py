"""Delivering webhooks: one attempt, and the dispatcher that runs attempts concurrently from the queue."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from notifications.domain.model import Attempt
from notifications.domain.retry import Decision, RetryPolicy, classify, decide, parse_retry_after
from notifications.domain.signing import webhook_headers
from notifications.service_layer.ports import ClaimedDelivery, DeliveryQueue, SendResult, WebhookSender
from schuldenlab_contracts.cloudevents import CloudEvent, to_structured_json

log = logging.getLogger(__name__)


def webhook_body(claim: ClaimedDelivery) -> bytes:
    e = claim.event
    return to_structured_json(CloudEvent(id=e.event_id, source=e.source, type=e.ce_type, subject=e.subject,
                                         time=e.time, data=e.data, traceparent=e.traceparent,
                                         tracestate=e.tracestate))


def trace_headers(claim: ClaimedDelivery) -> dict[str, str]:
    """The event's trace context as W3C headers; the sender continues the trace from it with a span of its own."""
    e = claim.event
    return {name: value for name, value in (("traceparent", e.traceparent), ("tracestate", e.tracestate)) if value}


async def attempt_delivery(claim: ClaimedDelivery, sender: WebhookSender, policy: RetryPolicy, *,
                           clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                           random_unit: Callable[[], float] = random.random) -> tuple[Attempt, Decision]:
    """Sign and send one delivery, and decide what follows from the receiver's answer.

    Whatever stops the request from going out is a failed attempt too, recorded and retried on the
    schedule like any other: an attempt that raised instead would leave its delivery leased and pending,
    tried again (and failing the same way) each time the lease runs out, for ever.
    """
    started_at = clock()
    began = time.perf_counter()
    try:
        body = webhook_body(claim)
        headers = webhook_headers(list(claim.secrets), claim.event.event_id, int(started_at.timestamp()), body)
        headers |= trace_headers(claim)
        result = await sender.send(claim.url, headers, body)
    except Exception as exc:  # not CancelledError (a BaseException): a stopping worker hands the claim back
        error_id = uuid.uuid4().hex[:12]
        # The integrator sees the kind and an id; the operator finds the traceback under that id.
        log.exception("notifications: delivery %s could not be sent (error id %s)", claim.delivery_id, error_id)
        result = SendResult(status_code=None, retry_after=None,
                            error=f"unexpected error ({type(exc).__name__}, error id {error_id})")
    duration_ms = (time.perf_counter() - began) * 1000
    outcome = classify(result.status_code if result.error is None else None)
    now = clock()
    decision = decide(policy, outcome, attempt_in_round=claim.round_attempts,
                      retry_after=parse_retry_after(result.retry_after, now),
                      failing_since=claim.failing_since, now=now, random_unit=random_unit())
    attempt = Attempt(number=claim.attempts, started_at=started_at, duration_ms=duration_ms,
                      status_code=result.status_code, error=result.error, outcome=outcome.value)
    return attempt, decision


class Dispatcher:
    """Claims due deliveries and sends each in its own task, within a global and a per-host limit.

    One task per delivery means a hanging endpoint holds only its own slots: the per-host limit stops
    it from taking the global ones too, and the claim skips hosts that are at their limit.
    """

    def __init__(self, queue: DeliveryQueue, sender: WebhookSender, policy: RetryPolicy, *,
                 concurrency: int, per_host: int, poll_interval: float) -> None:
        self._queue = queue
        self._sender = sender
        self._policy = policy
        self._concurrency = concurrency
        self._per_host = per_host
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._running: dict[asyncio.Task, ClaimedDelivery] = {}
        self._busy_hosts: Counter[str] = Counter()
        self._gauges_at = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._dispatch_due()
                    await self._refresh_gauges()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("notifications: claiming deliveries failed; retrying")
                # asyncio.timeout, not wait_for: on Python 3.11 a cancellation racing wait_for's own
                # timeout can leave the task stuck, and then shutdown waits for ever.
                try:
                    async with asyncio.timeout(self._poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            await self._stop_running()

    async def _dispatch_due(self) -> None:
        while (free := self._concurrency - len(self._running)) > 0:
            saturated = [host for host, n in self._busy_hosts.items() if n >= self._per_host]
            claims = await self._queue.claim(free, saturated)
            too_many: list[ClaimedDelivery] = []
            for claim in claims:
                if self._busy_hosts[claim.target_host] >= self._per_host:
                    too_many.append(claim)  # several claimed for one host in this batch
                    continue
                self._start(claim)
            if too_many:
                await self._queue.release(too_many, attempted=False)
            if len(claims) < free or too_many:
                return

    def _start(self, claim: ClaimedDelivery) -> None:
        self._busy_hosts[claim.target_host] += 1
        task = asyncio.create_task(self._deliver(claim), name=f"webhook-{claim.delivery_id}")
        self._running[task] = claim
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        claim = self._running.pop(task, None)
        if claim is not None:
            self._busy_hosts[claim.target_host] -= 1
            if self._busy_hosts[claim.target_host] <= 0:
                del self._busy_hosts[claim.target_host]
        self._wake.set()

    async def _deliver(self, claim: ClaimedDelivery) -> None:
        try:
            attempt, decision = await attempt_delivery(claim, self._sender, self._policy)
            if not await self._queue.finish(claim, attempt, decision):
                log.warning("notifications: delivery %s lost its lease before the result was recorded",
                            claim.delivery_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("notifications: delivery %s failed unexpectedly", claim.delivery_id)

    async def _refresh_gauges(self) -> None:
        if time.monotonic() - self._gauges_at >= 1.0:
            self._gauges_at = time.monotonic()
            await self._queue.refresh_gauges()

    async def _stop_running(self) -> None:
        claims = list(self._running.values())
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if claims:
            # Hand the interrupted ones back now rather than when their leases expire, so a restart
            # (or another replica) resumes them at once.
            try:
                await asyncio.wait_for(self._queue.release(claims, attempted=True), timeout=2)
            except Exception:
                log.warning("notifications: could not release %d claimed deliveries", len(claims))
