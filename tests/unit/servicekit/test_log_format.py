"""The log format of a service process: text or JSON, one line a record, colour only on a terminal."""

from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from servicekit import logs
from servicekit.access import request_id
from servicekit.config import ConfigError, Settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def configured():
    """`logs.configure` into a buffer; the process's logging as it was afterwards."""
    watched = ("", "faststream", "faststream.access.kafka", "uvicorn", "uvicorn.error", "httpx")
    saved = {n: (lg.__class__, lg.handlers[:], lg.propagate, lg.level)
             for n in watched for lg in [logging.getLogger(n or None)]}

    def configure(log_format: str, stream: io.StringIO | None = None) -> io.StringIO:
        stream = stream if stream is not None else io.StringIO()
        logs.configure("catalogue", level="INFO", log_format=log_format, stream=stream)
        return stream

    yield configure
    for name, (cls, handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name or None)
        logger.__class__ = cls
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def test_json_is_one_object_per_line_with_the_bound_ids_and_the_traceback_inside(configured):
    stream = configured("json")
    with logs.bound(request_id="r-1", event_id="e-1"):
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logging.getLogger("servicekit.test").exception("failed\nhere")
    logging.getLogger("servicekit.test").info("outside", extra={"route": "/v1/x/{id}", "color_message": "\x1b[1m"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    inside, outside = (json.loads(line) for line in lines)
    assert inside["service"] == "catalogue" and inside["level"] == "ERROR" and inside["logger"] == "servicekit.test"
    assert inside["message"] == "failed\nhere" and "ValueError: line one" in inside["exception"]
    assert inside["request_id"] == "r-1" and inside["event_id"] == "e-1" and inside["time"].endswith("Z")
    # Outside the block the ids are gone; only named fields are taken from `extra` (never uvicorn's colours).
    assert "request_id" not in outside and outside["route"] == "/v1/x/{id}" and "color_message" not in outside
    assert "\x1b" not in stream.getvalue()


def test_text_is_coloured_on_a_terminal_only(configured):
    plain = configured("text")
    with logs.bound(request_id="r-2"):
        logging.getLogger("servicekit.test").warning("plain")
    assert "\x1b" not in plain.getvalue()
    assert plain.getvalue().rstrip().endswith("WARNING catalogue servicekit.test: plain request_id=r-2")

    terminal = configured("text", Terminal())
    logging.getLogger("servicekit.test").warning("coloured")
    assert "\x1b[33mWARNING\x1b[0m" in terminal.getvalue()


def test_a_line_logged_while_a_span_is_current_carries_its_trace_and_span_ids(configured):
    span = NonRecordingSpan(SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0xB7AD6B7169203331,
                                        is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)))
    stream = configured("json")
    log = logging.getLogger("servicekit.test")
    with trace.use_span(span), logs.bound(event_id="e-3"):
        log.info("inside")
    log.info("outside")
    with trace.use_span(trace.INVALID_SPAN):
        log.info("in no trace")
    inside, outside, invalid = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and inside["span_id"] == "b7ad6b7169203331"
    assert inside["event_id"] == "e-3"
    assert not {"trace_id", "span_id"} & (outside.keys() | invalid.keys())

    text = configured("text")
    with trace.use_span(span):
        log.warning("plain")
    assert text.getvalue().rstrip().endswith(
        "plain trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=b7ad6b7169203331")


def test_faststream_and_uvicorn_lines_get_the_one_format_even_with_handlers_of_their_own(configured):
    # FastStream makes its Kafka logger when the broker connects, after the set-up: a coloured handler of
    # its own and no propagation. Done here after `configure`, the line must still come out as JSON.
    stream = configured("json")
    kafka = logging.getLogger("faststream.access.kafka")
    own = io.StringIO()
    kafka.addHandler(logging.StreamHandler(own))
    kafka.propagate = False
    kafka.warning("Auto create topics is disabled.")
    logging.getLogger("uvicorn.error").info("Started server process")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["logger"] for e in entries] == ["faststream.access.kafka", "uvicorn.error"]
    assert own.getvalue() == ""


def test_httpx_request_lines_with_their_urls_are_not_logged_at_info(configured):
    stream = configured("json")
    logging.getLogger("httpx").info("HTTP Request: POST https://crm.example/hook?token=secret")
    assert stream.getvalue() == ""


def test_the_log_format_setting_is_text_or_json_and_a_bad_one_names_the_variable(tmp_path):
    def setting(value: str | None) -> str:
        env = {"SCHULDENLAB_HOME": str(tmp_path)} | ({} if value is None else {"SCHULDENLAB_LOG_FORMAT": value})
        return logs.log_format(Settings.from_env(env))

    assert setting(None) == "text" and setting("JSON") == "json" and setting("text") == "text"
    with pytest.raises(ConfigError, match="SCHULDENLAB_LOG_FORMAT='yaml'"):
        setting("yaml")


@pytest.mark.parametrize(("sent", "kept"), [(b"4bf92f3577b34da6a3ce929d0e0e4736", True), (b"req-1.a:b_c", True),
                                            (b"two words", False), (b"x" * 129, False), (b"", False),
                                            (b"id\x1b[31m", False)])
def test_a_callers_request_id_is_kept_only_when_well_formed(sent, kept):
    rid = request_id({"headers": [(b"x-request-id", sent)]})
    assert (rid == sent.decode("latin-1")) is kept
    assert kept or len(rid) == 32
