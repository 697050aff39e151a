"""Sending a webhook over HTTP to an address checked right before connecting (SSRF defence at delivery)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import socket
import ssl

import httpx

from notifications.domain.errors import InvalidInput, RefusedTarget
from notifications.service_layer.ports import Resolver, SendResult
from notifications.service_layer.targets import check_target
from servicekit import tracing

# Lookups get threads of their own: a slow DNS server must not occupy asyncio's default executor
# (which the rest of the process shares); a lookup abandoned at its attempt's timeout finishes here.
_DNS_THREADS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-dns")


class DnsResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.run_in_executor(
                _DNS_THREADS, functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM))
        except (socket.gaierror, UnicodeError):
            return []
        return list(dict.fromkeys(info[4][0] for info in infos))


class HttpWebhookSender:
    """POSTs the signed body; connects to the very IP address it checked, so DNS cannot switch in between.

    The URL's host is replaced by the checked address, the Host header keeps the name, and for https the
    TLS server name (SNI and certificate check) stays the name too. httpx pools connections by the URL's
    host, here the address: a pinned https connection is closed after its request, so a connection whose
    TLS was set up for one name is never reused for another name on the same address.
    """

    def __init__(self, *, timeout: float, allowed_hosts: frozenset[str], resolver: Resolver | None = None,
                 max_connections: int = 100) -> None:
        self._timeout = timeout
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver or DnsResolver()
        self._client = httpx.AsyncClient(
            follow_redirects=False, timeout=timeout, trust_env=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
            headers={"user-agent": "SchuldenlabNL-Webhooks/1"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        # A span of ours in the event's trace; the receiver gets its context (the headers the service layer put
        # in name the span that produced the event: ours replaces them as the parent the receiver continues).
        with tracing.sending("webhook POST", parent=headers) as trace_headers:
            return await self._send(url, {**headers, **trace_headers}, body)

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        try:
            # One deadline for the whole attempt, DNS included; httpx's own timeout applies per phase only.
            return await asyncio.wait_for(self._checked_post(url, headers, body), self._timeout)
        except RefusedTarget as exc:
            return _failed(f"refused: {exc.reason}")
        except InvalidInput as exc:  # a URL stored before the checks were as strict as they are now
            return _failed(f"invalid URL: {exc.reason}")
        except (TimeoutError, httpx.TimeoutException):
            return _failed(f"no answer within {self._timeout:g} s")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return _failed("invalid URL: the HTTP client cannot build a request for it")
        except httpx.HTTPError as exc:
            return _failed(_described(exc))

    async def _checked_post(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        request_url, headers, extensions = await self._pinned(url, headers)
        request = self._client.build_request("POST", request_url, content=body, headers=headers,
                                             extensions=extensions)
        # Streamed and closed unread: only the status matters, and a huge body must not be buffered.
        response = await self._client.send(request, stream=True)
        await response.aclose()
        return SendResult(status_code=response.status_code, retry_after=response.headers.get("retry-after"),
                          error=None)

    async def _pinned(self, url: str, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, str], dict]:
        checked = await check_target(url, self._resolver, self._allowed_hosts)
        original = httpx.URL(url)
        if checked.pin_to is None:
            return original, headers, {}
        pinned = original.copy_with(host=checked.pin_to)
        headers = {**headers, "host": original.netloc.decode("ascii")}
        if checked.target.scheme != "https":
            return pinned, headers, {}
        return pinned, {**headers, "connection": "close"}, {"sni_hostname": checked.target.host}


def _failed(error: str) -> SendResult:
    return SendResult(status_code=None, retry_after=None, error=error)


def _described(exc: httpx.HTTPError) -> str:
    """What the delivery log says of a request that got no answer: the kind of failure, never the text.

    The log is the integrator's to read. An exception's text can carry what the other side sent (an SSH
    or database banner quoted in "illegal status line: ...") and the details of a refused connection;
    for a target reachable through the allow-list that would make subscriptions a port and service scanner.
    A certificate's verification message stays: it is what any client of that host sees, and the one
    detail an integrator needs to fix its endpoint.
    """
    if isinstance(exc, httpx.ConnectError):
        certificate = _cause(exc, ssl.SSLCertVerificationError)
        if certificate is not None:
            why = getattr(certificate, "verify_message", None) or "verification failed"
            return f"the receiver's TLS certificate was not accepted: {why}"
        return "the TLS handshake failed" if _cause(exc, ssl.SSLError) else "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the answer was not valid HTTP"
    if isinstance(exc, httpx.LocalProtocolError):
        return "the request could not be built"
    if isinstance(exc, httpx.NetworkError):
        return "the connection broke off"
    return f"the request failed ({type(exc).__name__})"


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of `kind` in the chain behind `exc` (httpx wraps httpcore, which wraps ssl)."""
    seen: BaseException | None = exc
    for _ in range(10):  # chains are short; the bound only guards against a cycle
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
