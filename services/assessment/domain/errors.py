"""What can go wrong in the assessment's domain."""

from __future__ import annotations


class AssessmentNotFound(LookupError):
    pass


class AssessmentConflict(Exception):
    """The assessment's state does not allow what was asked; `conditions` names every unmet condition."""

    def __init__(self, message: str, conditions: list[str]) -> None:
        super().__init__(message)
        self.conditions = conditions


class ReviewRefused(AssessmentConflict):
    pass


class DecisionRefused(AssessmentConflict):
    pass


class ReassessmentRefused(AssessmentConflict):
    pass
