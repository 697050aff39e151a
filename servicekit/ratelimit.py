"""Rate limits per client address: the one place a service limits how often one client may do something.

A token bucket per client address and per limit name, kept in the process. A service names a limit
(`submissions`) and sets its size with `SCHULDENLAB_<SERVICE>_<NAME>_PER_HOUR`; every entrypoint that does
that thing (the catalogue's JSON API and its website alike) takes from the same bucket, through `take` or the
`enforce` call. Over the limit the API answers 429 as a problem with `Retry-After`; a page may answer 429 in
its own form (`RateLimited` carries the seconds).

Kept in the process, not in the database: one replica limits exactly; with N replicas behind a load balancer
a client gets up to N times the limit (each replica has its own buckets), which still bounds a flood. Shared
limits would need a table and a write per request; the services' READMEs say what an operator does instead.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from servicekit.config import ConfigError, Settings

EXEMPT_VARIABLE = "SCHULDENLAB_RATE_LIMIT_EXEMPT"
# The operator's own machine: `schuldenlab demo`, the benchmarks and load tests submit from loopback. A reverse
# proxy on the same host must pass the client's address (uvicorn takes X-Forwarded-For from 127.0.0.1), or every
# visitor would count as loopback; set the variable empty to limit loopback too.
DEFAULT_EXEMPT = "127.0.0.0/8,::1/128"
# Buckets kept at most; past it, buckets that have refilled are forgotten first (they hold nothing a fresh one
# would not), then the least recently used. Bounds memory against a client cycling through addresses.
MAX_BUCKETS = 50_000
MAX_PER_HOUR = 1_000_000
_EPSILON = 1e-6
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def per_hour(settings: Settings, service: str, name: str, default: int) -> int:
    """The limit `SCHULDENLAB_<SERVICE>_<NAME>_PER_HOUR` (0 turns it off); a bad value stops the service's start."""
    variable = f"SCHULDENLAB_{service.upper()}_{name.upper()}_PER_HOUR"
    return settings.whole(variable, default, least=0, most=MAX_PER_HOUR)  # 0: no limit


def exempt_networks(settings: Settings) -> tuple[Network, ...]:
    """Addresses no limit applies to: SCHULDENLAB_RATE_LIMIT_EXEMPT, comma-separated addresses or networks."""
    raw = settings.setting(EXEMPT_VARIABLE)
    raw = DEFAULT_EXEMPT if raw is None else raw
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{EXEMPT_VARIABLE}={raw!r}: {item!r} is not an IP address or network "
                              "(e.g. 127.0.0.0/8, ::1, 10.0.0.5)") from None
    return tuple(networks)


def client_key(address: str | None) -> str:
    """Whose bucket: the address; for IPv6 its /64, since one subscriber commonly holds a whole /64."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a test client's name, a Unix socket): itself
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimited(Exception):
    """Over the limit; `retry_after` is the whole number of seconds until one more is allowed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    """Token buckets per client address: `per_hour` at once, refilled evenly over the hour."""

    def __init__(self, per_hour: int, exempt: tuple[Network, ...] = (), *,
                 clock: Callable[[], float] = time.monotonic, max_buckets: int = MAX_BUCKETS) -> None:
        self.per_hour = per_hour
        self.exempt = exempt
        self._clock = clock
        self._rate = per_hour / 3600.0  # tokens per second
        self._max_buckets = max_buckets
        self._buckets: dict[str, _Bucket] = {}

    def is_exempt(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.exempt if network.version == ip.version)

    def take(self, address: str | None) -> None:
        """Take one for `address`, or raise RateLimited saying when the next one comes."""
        if self.per_hour == 0 or self.is_exempt(address):
            return
        key, now = client_key(address), self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.per_hour), now)
        bucket.tokens = min(float(self.per_hour), bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets[key] = bucket  # re-inserted: the dict's order is least recently used first
        # The epsilon keeps float rounding (900 x 1/900 = 0.99999...) from costing a whole extra second.
        if bucket.tokens < 1.0 - _EPSILON:
            raise RateLimited(max(1, math.ceil((1.0 - bucket.tokens) / self._rate - _EPSILON)))
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
        if len(self._buckets) > self._max_buckets:
            self._forget(now)

    def _forget(self, now: float) -> None:
        full_after = self.per_hour / self._rate
        for key in [k for k, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[key]
        while len(self._buckets) > self._max_buckets:
            del self._buckets[next(iter(self._buckets))]

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True)
class Limit:
    """A named limit of a service, e.g. Limit("submissions", default_per_hour=20)."""

    name: str
    default_per_hour: int

    def check_settings(self, settings: Settings, service: str) -> None:
        """For the service's `check_settings`: a bad value stops its start, naming the variable."""
        per_hour(settings, service, self.name, self.default_per_hour)
        exempt_networks(settings)

    def limiter(self, request: Request) -> RateLimiter:
        """This limit's buckets in the app serving `request`: one set per app, shared by all its routes."""
        limiters: dict[str, RateLimiter] | None = getattr(request.app.state, "rate_limiters", None)
        if limiters is None:
            limiters = request.app.state.rate_limiters = {}
        found = limiters.get(self.name)
        if found is None:
            runtime = request.app.state.runtime
            settings = runtime.settings
            found = limiters[self.name] = RateLimiter(
                per_hour(settings, runtime.schema, self.name, self.default_per_hour), exempt_networks(settings))
        return found

    def take(self, request: Request) -> None:
        """Take one for the request's client address, or raise RateLimited."""
        self.limiter(request).take(request.client.host if request.client else None)

    def enforce(self, request: Request) -> None:
        """For JSON routes: over the limit is a 429 problem with Retry-After (the runtime's HTTP error answer)."""
        try:
            self.take(request)
        except RateLimited as exc:
            raise HTTPException(429, f"Too many {self.name} from this address; try again in {exc.retry_after} "
                                f"seconds.", headers={"Retry-After": str(exc.retry_after)}) from None


RETRY_AFTER_HEADER = {"Retry-After": {"description": "Seconds until this client address may do it again.",
                                      "schema": {"type": "integer", "minimum": 1}}}
