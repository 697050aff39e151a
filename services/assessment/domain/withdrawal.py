"""A project's withdrawal from the catalogue, as a tombstone on the catalogue feed announces it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from assessment.domain.dossier import Dossier


@dataclass(frozen=True)
class Withdrawal:
    project_id: uuid.UUID
    withdrawn_at: datetime  # the tombstone's event time

    def covers(self, dossier: Dossier) -> bool:
        """Whether the submitted revision belongs to the withdrawn project, so its round opens `withdrawn`.

        The tombstone and ProjectSubmitted travel on different topics, so a revision submitted before the
        withdrawal can arrive after its tombstone. A revision submitted after the withdrawal is a new
        submission and opens normally: an old tombstone must not block a project for ever.
        """
        return dossier.project_id == self.project_id and dossier.submitted_at <= self.withdrawn_at

    def latest(self, other: Withdrawal | None) -> Withdrawal:
        """Of two withdrawals of the project, the later one counts (tombstones may be redelivered late)."""
        return other if other is not None and other.withdrawn_at > self.withdrawn_at else self
