"""The ways partnering's rules refuse a change: conflict (409), missing (404), bad input (422), not a member (403)."""

from __future__ import annotations


class NotALabMember(Exception):
    """The asker may not change this lab: only its members and the operator may."""


class PartneringConflict(Exception):
    """A rule refused the change in the current state; `conditions` names every unmet condition."""

    def __init__(self, detail: str, conditions: list[str] | None = None) -> None:
        super().__init__(detail)
        self.conditions = list(conditions) if conditions else [detail]


class NotFound(Exception):
    """The lab or implementation does not exist."""


class InvalidInput(ValueError):
    """The request itself is wrong, whatever the state: `field` names where, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
