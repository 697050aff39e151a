"""An in-memory ratings repository for the assessment's unit tests."""

from __future__ import annotations

import uuid
from datetime import datetime

from assessment.domain.rating import Rating


class FakeRatingRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Rating] = {}

    async def get(self, project_id: uuid.UUID, *, lock: bool = False) -> Rating | None:
        return self.rows.get(project_id)

    async def put(self, rating: Rating) -> None:
        self.rows[rating.project_id] = rating

    async def remove(self, project_id: uuid.UUID) -> None:
        self.rows.pop(project_id, None)

    async def take_due(self, now: datetime, limit: int) -> list[Rating]:
        return sorted((r for r in self.rows.values() if r.is_due(now)), key=lambda r: r.notice_at)[:limit]
