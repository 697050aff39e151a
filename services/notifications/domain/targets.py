"""Where webhooks may go: http(s) URLs whose host resolves only to public addresses (no SSRF)."""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple
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
    # Checked on the raw text, before urlsplit: it silently drops tab, CR and LF, so a URL that smuggles
    # a header line would pass as another URL and then fail (or worse) in the HTTP client.
    for position, char in enumerate(url):
        if char.isspace() or unicodedata.category(char) == "Cc":
            raise InvalidInput("url", f"must not contain whitespace or control characters; found U+{ord(char):04X} "
                                      f"at position {position}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput("url", f"not a valid URL: {exc}") from None
    if port == 0:
        raise InvalidInput("url", "port 0 cannot be connected to")
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "must be an http or https URL")
    if not parts.hostname:
        raise InvalidInput("url", "has no host")
    if parts.username or parts.password:
        raise InvalidInput("url", "must not carry credentials (user:password@)")
    if parts.fragment:
        raise InvalidInput("url", "must not have a fragment")
    return Target(url=url, scheme=parts.scheme, host=parts.hostname.lower(),
                  port=port if port is not None else (443 if parts.scheme == "https" else 80))


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _canonical_host(host: str) -> str:
    """One spelling per host: lower case, IP literals compressed (`0:0::1` and `::1` are the same host)."""
    literal = ip_literal(host)
    return str(literal) if literal else host.lower()


class AllowedHost(NamedTuple):
    """An entry of SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS: a host exempt from the SSRF check, on one port or all."""

    host: str
    port: int | None = None  # None: every port of the host


def parse_allowed_hosts(text: str) -> frozenset[AllowedHost]:
    """Comma-separated `host`, `host:port`, `[IPv6]` or `[IPv6]:port` entries; ValueError names a bad one."""
    return frozenset(_allowed_host(entry.strip()) for entry in text.split(",") if entry.strip())


def _allowed_host(entry: str) -> AllowedHost:
    def bad(why: str) -> ValueError:
        return ValueError(f"entry {entry!r}: {why}; expected host, host:port or [IPv6 address]:port")

    if any(c.isspace() or unicodedata.category(c) == "Cc" or c in "/@?#" for c in entry):
        raise bad("not a host name")
    if ip_literal(entry):  # a bare IPv4 or IPv6 address: its colons are not a port
        return AllowedHost(_canonical_host(entry))
    if entry.startswith("["):
        inside, closed, rest = entry[1:].partition("]")
        if not closed or not ip_literal(inside):
            raise bad("brackets must hold an IPv6 address")
        if rest and not rest.startswith(":"):
            raise bad("unexpected text after ]")
        host, port_text = inside, (rest[1:] if rest else None)
    else:
        host, colon, port_text = entry.partition(":")
        if colon and ":" in port_text:
            raise bad("write an IPv6 address with a port in brackets")
        port_text = port_text if colon else None
    if not host:
        raise bad("no host")
    if port_text is None:
        return AllowedHost(_canonical_host(host))
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise bad("the port must be a number from 1 to 65535")
    return AllowedHost(_canonical_host(host), int(port_text))


def is_exempt(target: Target, allowed: frozenset[AllowedHost]) -> bool:
    """Whether the allow-list exempts this target from the SSRF check: its host on all ports, or on its port."""
    host = _canonical_host(target.host)
    return AllowedHost(host) in allowed or AllowedHost(host, target.port) in allowed


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
    """Why `host`, resolving to `addresses`, is refused; every address must be public.

    The reason is shown to the integrator (in the 422 and the delivery log), so for a name it gives the
    kind of address but not the address: an integrator must not be able to use subscriptions to learn
    what names on the platform's internal network resolve to.
    """
    if not addresses:
        return f"host {host} does not resolve to any address"
    is_literal = ip_literal(host) is not None
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            where = f"host {host} is {reason}" if is_literal else \
                f"host {host} resolves to a non-public (private, loopback, link-local or reserved) address"
            return f"{where}; refused unless listed in SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS"
    return None
