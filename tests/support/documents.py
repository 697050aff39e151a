"""The documents each service serves (OpenAPI, AsyncAPI and its page), read from its app without starting it: no
lifespan, so no database and no broker; the documents need only the definitions and the broker object."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from schuldenlab.services import SERVICES, load_definition
from servicekit.service import create_app
from tests.support.harness import service_settings


async def served(tmp_path_factory: pytest.TempPathFactory, *paths: str) -> dict[str, list[httpx.Response]]:
    """Per service, its answers to GET each of `paths`, in their order."""
    found = {}
    for service in SERVICES:
        home: Path = tmp_path_factory.mktemp(service)
        app = create_app(load_definition(service), service_settings("postgresql://nobody@127.0.0.1:9/none",
                                                                    "127.0.0.1:9", home))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
            found[service] = [await client.get(path) for path in paths]
    return found


def resolve(document: dict, ref: str) -> dict:
    """The node a local `$ref` ("#/components/...") points at."""
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node
