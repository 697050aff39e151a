"""Partnering's view of the catalogue: which projects are proven right now (a replica, fed by events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueEntry:
    """A project as the catalogue feed last showed it; its absence means not in the catalogue."""

    project_id: uuid.UUID
    name: str
    status: str
    revision: int
