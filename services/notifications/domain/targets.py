"""Where webhooks may go: http(s) URLs whose host resolves only to public addresses (no SSRF)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from notifications.domain.errors import InvalidInput

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # lower case, without brackets for IPv6
    port: int

    @property
    def host_key(self) -> str:
        """Identifies the endpoint for per-host concurrency limits."""
        return f"{self.host}:{self.port}"


def parse_target(url: str) -> Target:
    """The URL as a delivery target, or InvalidInput naming `url` and why."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("url", f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "must be an http or https URL")
    if not parts.hostname:
        raise InvalidInput("url", "has no host")
    if parts.username or parts.password:
        raise InvalidInput("url", "must not carry credentials (user:password@)")
    if parts.fragment:
        raise InvalidInput("url", "must not have a fragment")
    return Target(url=url, scheme=parts.scheme, host=parts.hostname.lower(),
                  port=port or (443 if parts.scheme == "https" else 80))


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def forbidden_reason(address: str) -> str | None:
    """Why a webhook must not go to this IP address, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address inside.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            reason = forbidden_reason(str(embedded))
            return f"{address} embeds {embedded}, which is {reason}" if reason else None
    for flag, words in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
                        ("is_unspecified", "the unspecified address"), ("is_multicast", "a multicast address"),
                        ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(ip, flag):
            return words
    if not ip.is_global:
        return "not a globally reachable address"
    return None


def refusal(host: str, addresses: list[str]) -> str | None:
    """Why `host`, resolving to `addresses`, is refused; every address must be public."""
    if not addresses:
        return f"host {host} does not resolve to any address"
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            return f"host {host} resolves to {address}, {reason}; refused unless listed in " \
                   f"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS"
    return None
