"""What `schuldenlab status` counts as unhealthy, and how its one screen shows it."""

from __future__ import annotations

from datetime import UTC, datetime

from schuldenlab.status import LAG_LIMIT, OUTBOX_AGE_LIMIT, Lag, Report, ServiceStatus, _judge, render

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def service(name: str, **values) -> ServiceStatus:
    return ServiceStatus(name, f"http://127.0.0.1/{name}", **({"ready": "ready", "outbox_backlog": 0,
                                                              "outbox_oldest_seconds": 0, "dead_letters": 0,
                                                              "replayed": 0} | values))


def judged(*services: ServiceStatus, lags: tuple[Lag, ...] = ()) -> Report:
    report = Report(list(services), list(lags))
    _judge(report)
    return report


def test_a_ready_platform_with_nothing_waiting_is_healthy_even_with_some_lag():
    report = judged(service("catalogue"), service("assessment"),
                    lags=(Lag("assessment", "catalogue.project-submitted.v1", 0, LAG_LIMIT),))
    assert report.healthy
    assert render(report, now=NOW).endswith("\nhealthy")
    assert "catalogue.project-submitted.v1[0]: 1000" in render(report, now=NOW)


def test_each_kind_of_trouble_is_named():
    report = judged(
        service("catalogue", ready="Not ready: database (failing: timeout)"),
        service("assessment", outbox_backlog=4, outbox_oldest_seconds=OUTBOX_AGE_LIMIT + 1),
        service("notifications", dead_letters=3, replayed=1),
        service("partnering", dead_letters=2, replayed=2),  # all replayed: nothing waits
        lags=(Lag("partnering", "catalogue.projects.v1", 2, LAG_LIMIT + 1),),
    )
    assert report.problems == [
        "catalogue is not ready: Not ready: database (failing: timeout)",
        "assessment's outbox has 4 rows unpublished, the oldest 61 s old (the relay is stuck)",
        "notifications has 2 dead letter(s) not replayed on notifications.dlq.v1 "
        "(`schuldenlab dlq list notifications`)",
        "partnering is 1001 records behind on catalogue.projects.v1[2]",
    ]
    screen = render(report, now=NOW)
    assert screen.count("UNHEALTHY: ") == 4 and "\nhealthy" not in screen


def test_values_a_service_did_not_give_are_shown_as_unknown_not_zero():
    report = judged(service("catalogue", ready="not answering at http://127.0.0.1:8001 (ConnectError)",
                            outbox_backlog=None, outbox_oldest_seconds=None, dead_letters=None, replayed=None))
    line = next(line for line in render(report, now=NOW).splitlines() if line.startswith("catalogue"))
    assert line.split() == ["catalogue", "NO", "?", "?", "?", "?"]
