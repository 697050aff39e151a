"""The log lines of a service process: one format (JSON or text) for its own, uvicorn's and FastStream's loggers."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from opentelemetry import trace

from servicekit.config import ConfigError, Settings

LOG_FORMATS = ("text", "json")

# What a line is about, for every line logged while it is in hand: the access middleware binds the request id,
# the consumer the event id. `trace_id` and `span_id` come from the current OpenTelemetry span instead.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
EVENT_ID: ContextVar[str | None] = ContextVar("event_id", default=None)

# The record attributes a line carries besides the message, where a record has them: the context above and
# the access log's own (servicekit.access). Named, not "every `extra`": a library's extra attribute may hold
# anything (uvicorn's `color_message` holds ANSI codes), and a field not named here cannot leak into a line.
CONTEXT_FIELDS = ("request_id", "event_id", "trace_id", "span_id")
FIELDS = (*CONTEXT_FIELDS, "method", "route", "status", "duration_ms")

# Loggers that install handlers of their own (FastStream: always coloured; uvicorn: per its log_config);
# routed to the root's one handler instead, so every line has the one format. FastStream's Kafka logger is
# made only when the broker connects, after `configure`: named here so it is routed from the start.
LIBRARY_LOGGERS = ("faststream", "uvicorn")
LIBRARY_LOGGER_NAMES = ("faststream", "faststream.access.kafka", "uvicorn", "uvicorn.error")

_LEVEL_COLOURS = {"DEBUG": "36", "INFO": "32", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}


def log_format(settings: Settings) -> str:
    """SCHULDENLAB_LOG_FORMAT: `text` (the default) or `json`; anything else stops the start, naming the variable."""
    raw = (settings.setting("SCHULDENLAB_LOG_FORMAT") or "text").strip().lower()
    if raw not in LOG_FORMATS:
        raise ConfigError(f"SCHULDENLAB_LOG_FORMAT={raw!r}: expected one of {', '.join(LOG_FORMATS)}")
    return raw


@contextmanager
def bound(*, request_id: str | None = None, event_id: str | None = None) -> Iterator[None]:
    """Every line logged inside carries these ids (the request or event being handled)."""
    tokens = [(var, var.set(value)) for var, value in ((REQUEST_ID, request_id), (EVENT_ID, event_id))
              if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class _Context(logging.Filter):
    """Adds the bound ids and the current span's ids to a record; on the handler, so records of every logger
    get them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("request_id", REQUEST_ID), ("event_id", EVENT_ID)):
            if getattr(record, name, None) is None and (value := var.get()) is not None:
                setattr(record, name, value)
        # W3C hex, as in `traceparent`, so a line is found from a trace and a trace from a line. With tracing off
        # there is mostly no valid span (FastAPI starts none without a provider): then this is one context lookup.
        span = trace.get_current_span().get_span_context()
        if span.is_valid and getattr(record, "trace_id", None) is None:
            record.trace_id = f"{span.trace_id:032x}"
            record.span_id = f"{span.span_id:016x}"
        return True


def _fields(record: logging.LogRecord, names: tuple[str, ...] = FIELDS) -> dict[str, object]:
    return {name: value for name in names if (value := getattr(record, name, None)) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, service, logger, message, the fields present, the exception.

    A traceback is one string field: JSON escapes its newlines (and any control character, ANSI's ESC too),
    so a record is always exactly one line.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`time level service logger: message request_id=...`; the level coloured only for a terminal.

    Only the context fields follow the message: the access line's message already says method, route,
    status and duration.
    """

    def __init__(self, service: str, *, colour: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s " + service + " %(name)s: %(message)s")
        self.colour = colour

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if self.colour:
            code = _LEVEL_COLOURS.get(record.levelname, "0")
            line = line.replace(f" {record.levelname} ", f" \x1b[{code}m{record.levelname}\x1b[0m ", 1)
        return line + "".join(f" {name}={value}" for name, value in _fields(record, CONTEXT_FIELDS).items())


def configure(service: str, *, level: str = "INFO", log_format: str = "text", stream: TextIO | None = None) -> None:
    """The process's logging: one handler on the root, in `log_format`, at `level`, for every logger."""
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    # Colour only where a person reads it: never in JSON, a file, a pipe or a container's log.
    handler.setFormatter(JsonFormatter(service) if log_format == "json"
                         else TextFormatter(service, colour=_is_terminal(stream)))
    handler.addFilter(_Context())
    # On the handler as well: a library logger set lower (FastStream's access lines at DEBUG) still only
    # gets through at the configured level.
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # aiokafka is chatty at INFO about every rebalance step; warnings are what operators need. httpx logs
    # every request's full URL at INFO: a webhook target's path and query may hold an integrator's token.
    for chatty in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    _route_library_loggers()


class _Routed(logging.Logger):
    """A library's logger that keeps no handler of its own and always propagates: its lines reach the root's.

    FastStream gives its Kafka logger a coloured handler and turns propagation off when the broker connects,
    with no setting to stop it; as this class the logger ignores both, whenever they happen.
    """

    propagate = property(lambda self: True, lambda self, value: None)

    def addHandler(self, handler: logging.Handler) -> None:
        pass


def _route_library_loggers() -> None:
    """Hand the libraries' lines to the root's handler, for their loggers made so far and those named ahead."""
    names = {name for name in list(logging.Logger.manager.loggerDict) if name.split(".")[0] in LIBRARY_LOGGERS}
    for name in names | set(LIBRARY_LOGGER_NAMES):
        if name == "uvicorn.access":
            continue  # uvicorn's access log stays off (access_log=False): servicekit.access writes the one line
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.__class__ = _Routed


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
