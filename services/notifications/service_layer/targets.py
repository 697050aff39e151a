"""The one check of where a webhook may go, used when subscribing and again before every attempt."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.domain.errors import RefusedTarget
from notifications.domain.targets import AllowedHost, Target, ip_literal, is_exempt, parse_target, refusal
from notifications.service_layer.ports import Resolver


@dataclass(frozen=True)
class CheckedTarget:
    """A target that passed the check; `pin_to` is the checked address to connect to, if any.

    None means connect by name: the host is an IP literal (checked as such) or on the allow-list.
    """

    target: Target
    pin_to: str | None


async def check_target(url: str, resolver: Resolver, allowed_hosts: frozenset[AllowedHost]) -> CheckedTarget:
    """The target of `url`; InvalidInput on `url` when it is malformed, RefusedTarget when it reaches a
    non-public address and neither its host nor its host:port is on the allow-list."""
    target = parse_target(url)
    if is_exempt(target, allowed_hosts):
        return CheckedTarget(target, None)
    literal = ip_literal(target.host)
    addresses = [str(literal)] if literal else await resolver.resolve(target.host, target.port)
    reason = refusal(target.host, addresses)
    if reason:
        raise RefusedTarget(reason)
    return CheckedTarget(target, None if literal else addresses[0])
