"""`schuldenlab demo`: the known proven projects of DOMAIN.md walked through a running platform.

Each service contributes its steps in `schuldenlab/demo_<service>.py` (a `run(client, urls, token, state)`
function); they run in the order of the platform's flow and share `state`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import httpx

from schuldenlab.services import SERVICES
from schuldenlab.state import PlatformNotRunning
from servicekit.auth import issue_token
from servicekit.config import Settings
from servicekit.loglines import one_line


def _token_factory(settings: Settings) -> Callable[..., str]:
    key = settings.signing_key()

    def token(role: str, subject: str | None = None) -> str:
        return issue_token(key, role=role, subject=subject or f"demo-{role}", ttl_seconds=3600)

    return token


def _require_platform(client: httpx.Client, urls: dict[str, str]) -> None:
    """Every service answers ready; else one line saying no platform runs (or which service is not ready)."""
    for name, url in urls.items():
        try:
            response = client.get(f"{url}/health/ready")
        except httpx.TransportError:
            raise PlatformNotRunning(f"no platform is running: {name} does not answer at {url}; start one with "
                                     "`schuldenlab up` (in another terminal), then run the demo again") from None
        if response.status_code != 200:
            raise PlatformNotRunning(f"the platform is not ready: {name} at {url} answers {response.status_code} "
                                     f"({one_line(response.text, 200)}); wait a moment, or see its log")


def run_demo(settings: Settings) -> int:
    urls = {name: settings.url_of(name) for name in SERVICES}
    state: dict = {}
    with httpx.Client(timeout=15) as client:
        _require_platform(client, urls)
        token = _token_factory(settings)  # after: without a platform there may be no key either
        for name in SERVICES:
            try:
                steps = importlib.import_module(f"schuldenlab.demo_{name}")
            except ModuleNotFoundError:
                continue
            print(f"== {name}")
            try:
                steps.run(client, urls, token, state)
            except (httpx.HTTPError, RuntimeError, TimeoutError) as exc:
                print(f"demo step of {name} failed: {exc}", file=sys.stderr)
                return 1
    print("demo complete")
    return 0
