"""Keeping log and error lines bounded: one line per message, and a cap on lines that can repeat without end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


def one_line(text: str, limit: int = 300) -> str:
    """`text` as one printable line of at most `limit` characters.

    Reasons often quote what a sender wrote (a header, an id): a newline there would forge a second
    log line, and a megabyte there would flood the log.
    """
    flat = " ".join(str(text).split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RateLimitedLog:
    """At most `per_window` lines per `window` seconds; the rest are counted and the count said on the next line.

    For lines one per bad input (a dead-lettered record, say): a producer gone wrong must not be
    able to fill the disk or drown every other line, yet the operator must see that it happens and how often.
    """

    def __init__(self, logger: logging.Logger, *, per_window: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._per_window = per_window
        self._window = window
        self._clock = clock
        self._window_end = float("-inf")
        self._logged = 0
        self._suppressed = 0

    def log(self, level: int, msg: str, *args: object) -> bool:
        """Log the line if the budget allows; returns whether it was logged."""
        now = self._clock()
        if now >= self._window_end:
            self._window_end, self._logged = now + self._window, 0
            if self._suppressed:
                msg, args = msg + " (%d more such lines were not logged before this one)", (*args, self._suppressed)
                self._suppressed = 0
        if self._logged >= self._per_window:
            self._suppressed += 1
            return False
        self._logged += 1
        if self._logged == self._per_window:
            msg += f"; further such lines are counted, not logged, for up to {self._window:.0f} s"
        self._logger.log(level, msg, *args)
        return True
