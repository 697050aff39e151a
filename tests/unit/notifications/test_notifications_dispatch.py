"""The dispatcher and the sender without network: isolation of slow hosts, SSRF checks at delivery time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import ssl
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from notifications.adapters.sender import DnsResolver, HttpWebhookSender
from notifications.domain.model import ReceivedEvent
from notifications.domain.retry import RetryPolicy, Verdict
from notifications.domain.signing import new_secret
from notifications.domain.targets import AllowedHost
from notifications.service_layer.delivery import Dispatcher, attempt_delivery
from notifications.service_layer.ports import ClaimedDelivery, SendResult

EVENT = ReceivedEvent(event_id=str(uuid.uuid4()), ce_type="nl.schuldenlab.project.submitted.v1", subject="p",
                      source="/schuldenlab/catalogue", time=datetime.now(UTC), data={"project_id": "p"})


def claim(host: str) -> ClaimedDelivery:
    return ClaimedDelivery(delivery_id=uuid.uuid4(), claim_token=uuid.uuid4(), subscription_id=uuid.uuid4(),
                           url=f"https://{host}/hook", target_host=f"{host}:443", secrets=(new_secret(),),
                           event=EVENT, attempts=1, round_attempts=1, failing_since=None)


class FakeQueue:
    def __init__(self, due: list[ClaimedDelivery]):
        self.due = due
        self.finished: list[tuple[ClaimedDelivery, object]] = []
        self.released: list[tuple[ClaimedDelivery, bool]] = []

    async def claim(self, limit, exclude_hosts):
        taken = [c for c in self.due if c.target_host not in exclude_hosts][:limit]
        for c in taken:
            self.due.remove(c)
        return taken

    async def finish(self, c, attempt, decision):
        self.finished.append((c, decision))
        return True

    async def release(self, claims, *, attempted):
        self.released.extend((c, attempted) for c in claims)
        self.due.extend(claims)

    async def refresh_gauges(self):
        pass


class FakeSender:
    def __init__(self):
        self.sent: list[str] = []

    async def send(self, url, headers, body):
        self.sent.append(url)
        if "slow" in url:
            await asyncio.sleep(3600)
        return SendResult(status_code=204, retry_after=None, error=None)


async def test_a_hanging_host_holds_only_its_per_host_slots():
    queue = FakeQueue([claim("slow.example") for _ in range(5)] + [claim("fast.example") for _ in range(5)])
    sender = FakeSender()
    dispatcher = Dispatcher(queue, sender, RetryPolicy(), concurrency=4, per_host=2, poll_interval=0.01)
    runner = asyncio.create_task(dispatcher.run())
    try:
        for _ in range(200):
            if len(queue.finished) == 5:
                break
            await asyncio.sleep(0.01)
        assert {c.target_host for c, _ in queue.finished} == {"fast.example:443"}
        assert len(queue.finished) == 5
        assert sum("slow" in url for url in sender.sent) == 2
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    # Stopping hands the interrupted deliveries back instead of leaving them leased; they keep the attempt
    # their claim counted (the request may be out), while claims never sent (over the host's limit) give it back.
    assert {c.target_host for c, _ in queue.released} == {"slow.example:443"}
    assert sorted(attempted for _, attempted in queue.released) == [False, False, True, True]


async def test_an_attempt_signs_with_the_event_id_and_decides_the_retry():
    class Failing:
        async def send(self, url, headers, body):
            self.headers = headers
            return SendResult(status_code=503, retry_after="7", error=None)

    sender = Failing()
    attempt, decision = await attempt_delivery(claim("x.example"), sender, RetryPolicy(schedule=(0, 1)),
                                               random_unit=lambda: 0.5)
    assert sender.headers["webhook-id"] == EVENT.event_id and sender.headers["webhook-signature"].startswith("v1,")
    assert attempt.status_code == 503 and attempt.outcome == "failed" and attempt.number == 1
    assert decision.verdict is Verdict.RETRY and decision.retry_in == 7


class FixedResolver:
    def __init__(self, addresses):
        self.addresses = addresses

    async def resolve(self, host, port):
        return self.addresses


async def test_the_sender_refuses_a_name_that_now_resolves_to_a_private_address():
    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset(), resolver=FixedResolver(["10.0.0.7"]))
    try:
        result = await sender.send("https://hooks.example.org/in", {}, b"{}")
    finally:
        await sender.close()
    assert result.status_code is None and result.error.startswith("refused:") and "non-public" in result.error
    assert "10.0.0.7" not in result.error  # the delivery log does not tell what an internal name resolves to


async def test_a_stored_url_with_cr_lf_is_a_failed_attempt_not_an_exception():
    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset({AllowedHost("127.0.0.1")}))
    try:
        result = await sender.send("http://127.0.0.1:9/in\r\nX-Injected: 1", {}, b"{}")
    finally:
        await sender.close()
    assert result.status_code is None and result.error.startswith("invalid URL:") and "U+000D" in result.error


async def test_a_url_the_http_client_cannot_build_a_request_for_is_a_failed_attempt():
    # Python's resolver takes this name (IDNA 2003), the HTTP client does not (IDNA 2008).
    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset(), resolver=FixedResolver(["93.184.216.34"]))
    try:
        result = await sender.send("https://\u2603.example.org/in", {}, b"{}")
    finally:
        await sender.close()
    assert result == SendResult(status_code=None, retry_after=None,
                                error="invalid URL: the HTTP client cannot build a request for it")


def _failing_with(exc: Exception) -> HttpWebhookSender:
    def fail(request):
        raise exc

    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset(), resolver=FixedResolver(["93.184.216.34"]))
    sender._client = httpx.AsyncClient(transport=httpx.MockTransport(fail))
    return sender


def _certificate_error() -> Exception:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    cause.verify_message = "certificate has expired"
    try:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] ...") from cause
    except httpx.ConnectError as exc:
        return exc


@pytest.mark.parametrize(("exc", "logged"), [
    (httpx.RemoteProtocolError("illegal status line: bytearray(b'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3')"),
     "the answer was not valid HTTP"),
    (httpx.ConnectError("[Errno 111] Connect call failed ('10.0.0.7', 6379)"), "could not connect"),
    (httpx.ReadError("-ERR unknown command 'POST', with args beginning with: '/in'"), "the connection broke off"),
    (_certificate_error(), "the receiver's TLS certificate was not accepted: certificate has expired"),
])
async def test_the_delivery_log_names_the_kind_of_failure_but_never_what_the_other_side_said(exc, logged):
    sender = _failing_with(exc)
    try:
        result = await sender.send("https://hooks.example.org/in", {}, b"{}")
    finally:
        await sender.close()
    assert result == SendResult(status_code=None, retry_after=None, error=logged)


async def test_an_attempt_that_raises_before_sending_is_a_failed_attempt_on_the_schedule():
    class Broken:
        async def send(self, url, headers, body):
            raise RuntimeError("a bug, with details the integrator must not see")

    attempt, decision = await attempt_delivery(claim("x.example"), Broken(), RetryPolicy(schedule=(0, 5)),
                                               random_unit=lambda: 0.5)
    assert attempt.status_code is None and attempt.outcome == "failed" and attempt.number == 1
    assert attempt.error.startswith("unexpected error (RuntimeError, error id ") and "details" not in attempt.error
    assert decision.verdict is Verdict.RETRY and decision.retry_in == 5


async def test_an_attempt_that_cannot_be_signed_is_a_failed_attempt_and_the_last_one_fails_the_delivery():
    corrupt = dataclasses.replace(claim("x.example"), secrets=("whsec_not base64!",), attempts=3, round_attempts=2)
    sender = FakeSender()
    attempt, decision = await attempt_delivery(corrupt, sender, RetryPolicy(schedule=(0, 5)))
    assert sender.sent == [] and attempt.number == 3 and attempt.error.startswith("unexpected error (")
    assert decision.verdict is Verdict.FAILED


async def test_the_sender_connects_to_the_checked_address_keeping_host_and_tls_name():
    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset(), resolver=FixedResolver(["93.184.216.34"]))
    try:
        url, headers, extensions = await sender._pinned("https://hooks.example.org:8443/in?x=1", {"a": "b"})
    finally:
        await sender.close()
    assert url == httpx.URL("https://93.184.216.34:8443/in?x=1")
    # Closed after use: the pool is keyed by the address, and TLS was set up for this name only.
    assert headers == {"a": "b", "host": "hooks.example.org:8443", "connection": "close"}
    assert extensions == {"sni_hostname": "hooks.example.org"}


async def test_a_pinned_plain_http_request_keeps_its_connection_for_reuse():
    sender = HttpWebhookSender(timeout=1, allowed_hosts=frozenset(), resolver=FixedResolver(["93.184.216.34"]))
    try:
        url, headers, extensions = await sender._pinned("http://hooks.example.org/in", {})
    finally:
        await sender.close()
    assert url == httpx.URL("http://93.184.216.34/in")
    assert headers == {"host": "hooks.example.org"} and extensions == {}


class HangingResolver:
    async def resolve(self, host, port):
        await asyncio.sleep(3600)


async def test_a_slow_dns_lookup_counts_against_the_attempt_timeout():
    sender = HttpWebhookSender(timeout=0.2, allowed_hosts=frozenset(), resolver=HangingResolver())
    try:
        result = await asyncio.wait_for(sender.send("https://hooks.example.org/in", {}, b"{}"), timeout=2)
    finally:
        await sender.close()
    assert result.status_code is None and result.error == "no answer within 0.2 s"


async def test_the_dns_resolver_does_not_use_the_default_executor():
    class NoDefaultExecutor(concurrent.futures.ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            raise AssertionError("the default executor was used")

    loop = asyncio.get_running_loop()
    original = loop._default_executor
    loop.set_default_executor(NoDefaultExecutor(max_workers=1))
    try:
        assert await DnsResolver().resolve("localhost", 80)
    finally:
        loop._default_executor = original
