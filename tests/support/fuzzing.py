"""What the schemathesis run against each service measured, for the summary at the end of the test session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Figures:
    service: str
    operations: int = 0
    requests: int = 0
    failed_operations: set[str] = field(default_factory=set)
    seconds: float = 0.0
    # Answers by status (200: 812, ...), to show how much got past validation, authorisation and lookups.
    answers: Counter[int] = field(default_factory=Counter)

    def line(self) -> str:
        answers = " ".join(f"{status}:{n}" for status, n in sorted(self.answers.items()))
        return (f"{self.service:<14} {self.operations:>3} operations  {self.requests:>6} requests  "
                f"{len(self.failed_operations)} failures  {self.seconds:6.1f} s  ({answers})")


FIGURES: dict[str, Figures] = {}


def figures(service: str) -> Figures:
    return FIGURES.setdefault(service, Figures(service))


def summary() -> list[str]:
    if not FIGURES:
        return []
    lines = [f.line() for f in FIGURES.values()]
    total = Figures("all", operations=sum(f.operations for f in FIGURES.values()),
                    requests=sum(f.requests for f in FIGURES.values()),
                    failed_operations={op for f in FIGURES.values() for op in f.failed_operations},
                    seconds=sum(f.seconds for f in FIGURES.values()),
                    answers=sum((f.answers for f in FIGURES.values()), Counter()))
    return [*lines, total.line(), *(f"failed: {op}" for op in sorted(total.failed_operations))]
