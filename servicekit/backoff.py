"""Pauses that double while failures repeat: one rule for every wait of the runtime that must not spin."""

from __future__ import annotations


class Backoff:
    """Delays doubling from `initial` to `maximum` while failures repeat; a success starts them over."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = min(initial, maximum)
        self._maximum = maximum
        self._next = self._initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self._initial
