"""The four services by name; the CLI loads a service's definition only when it runs or migrates it."""

from __future__ import annotations

import importlib

from servicekit.service import ServiceDefinition

SERVICES = ("catalogue", "assessment", "partnering", "notifications")


def load_definition(name: str) -> ServiceDefinition:
    if name not in SERVICES:
        raise SystemExit(f"unknown service {name!r}; services are {', '.join(SERVICES)}")
    module = importlib.import_module(f"{name}.bootstrap")
    return module.definition()
