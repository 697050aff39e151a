"""Sending a webhook over HTTP to an address checked right before connecting (SSRF defence at delivery)."""

from __future__ import annotations

import asyncio
import socket

import httpx

from notifications.domain.errors import InvalidInput
from notifications.domain.targets import ip_literal, parse_target, refusal
from notifications.service_layer.ports import SendResult


class DnsResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return []
        return list(dict.fromkeys(info[4][0] for info in infos))


class HttpWebhookSender:
    """POSTs the signed body; connects to the very IP address it checked, so DNS cannot switch in between.

    The URL's host is replaced by the checked address, the Host header keeps the name, and for https the
    TLS server name (SNI and certificate check) stays the name too.
    """

    def __init__(self, *, timeout: float, allowed_hosts: frozenset[str], resolver: DnsResolver | None = None,
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
        try:
            request_url, headers, extensions = await self._pinned(url, headers)
        except InvalidInput as exc:
            return SendResult(status_code=None, retry_after=None, error=f"refused: {exc.reason}")
        try:
            # httpx's timeout applies per phase; wait_for bounds the whole exchange.
            return await asyncio.wait_for(self._post(request_url, headers, body, extensions), self._timeout)
        except (TimeoutError, httpx.TimeoutException):
            return SendResult(status_code=None, retry_after=None, error=f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return SendResult(status_code=None, retry_after=None, error=f"{type(exc).__name__}: {exc}"[:500])

    async def _post(self, url: httpx.URL, headers: dict[str, str], body: bytes, extensions: dict) -> SendResult:
        request = self._client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
        # Streamed and closed unread: only the status matters, and a huge body must not be buffered.
        response = await self._client.send(request, stream=True)
        await response.aclose()
        return SendResult(status_code=response.status_code, retry_after=response.headers.get("retry-after"),
                          error=None)

    async def _pinned(self, url: str, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, str], dict]:
        target = parse_target(url)
        original = httpx.URL(url)
        if target.host in self._allowed_hosts:
            return original, headers, {}
        literal = ip_literal(target.host)
        addresses = [str(literal)] if literal else await self._resolver.resolve(target.host, target.port)
        reason = refusal(target.host, addresses)
        if reason:
            raise InvalidInput("url", reason)
        if literal:
            return original, headers, {}
        pinned = original.copy_with(host=addresses[0])
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        return pinned, {**headers, "host": original.netloc.decode("ascii")}, extensions
