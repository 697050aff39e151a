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
from servicekit.auth import issue_token
from servicekit.config import Settings


def _token_factory(settings: Settings) -> Callable[..., str]:
    key = settings.signing_key()

    def token(role: str, subject: str | None = None) -> str:
        return issue_token(key, role=role, subject=subject or f"demo-{role}", ttl_seconds=3600)

    return token


def run_demo(settings: Settings) -> int:
    urls = {name: settings.url_of(name) for name in SERVICES}
    token = _token_factory(settings)
    state: dict = {}
    with httpx.Client(timeout=15) as client:
        for name in SERVICES:
            try:
                client.get(f"{urls[name]}/health/ready").raise_for_status()
            except httpx.HTTPError as exc:
                print(f"{name} is not ready at {urls[name]} ({exc}); start the platform with `schuldenlab up`",
                      file=sys.stderr)
                return 1
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
