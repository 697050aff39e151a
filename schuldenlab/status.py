"""`schuldenlab status`: one screen on a running platform: readiness, outbox, consumer lag, dead letters, webhooks."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from schuldenlab.acls import consumed_topics
from schuldenlab.operations import topic_partitions
from schuldenlab.services import SERVICES
from schuldenlab.state import require_broker
from servicekit.config import Settings
from servicekit.consumer import dead_letter_topic, retry_topic
from servicekit.kafka import client_options

# An unpublished outbox row this old means the relay is stuck (it publishes within a second when it runs).
OUTBOX_AGE_LIMIT = 60.0
# Records a consumer group may be behind on one partition before it counts as not keeping up.
LAG_LIMIT = 1000
REFRESH_SECONDS = 2.0
# Each question to a service or the broker gets this long; the screen is late rather than never there.
HTTP_TIMEOUT = 3.0
KAFKA_TIMEOUT = 10.0


@dataclass
class ServiceStatus:
    name: str
    url: str
    ready: str = "?"  # "ready", or why not
    outbox_backlog: float | None = None
    outbox_oldest_seconds: float | None = None
    dead_letters: int | None = None  # retained on <service>.dlq.v1
    replayed: int | None = None  # records on <service>.retry.v1: each replays one dead letter


@dataclass
class Lag:
    group: str
    topic: str
    partition: int
    lag: int  # end offset minus the group's committed offset (the partition's start when none is committed)


@dataclass
class Report:
    services: list[ServiceStatus]
    lags: list[Lag] = field(default_factory=list)
    webhooks: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def _ask_service(client: httpx.AsyncClient, status: ServiceStatus, webhooks: dict) -> None:
    try:
        ready = await client.get(f"{status.url}/health/ready")
        status.ready = "ready" if ready.status_code == 200 else ready.json().get("detail", f"HTTP {ready.status_code}")
        samples = _samples((await client.get(f"{status.url}/metrics")).text)
    except (httpx.HTTPError, ValueError) as exc:
        status.ready = f"not answering at {status.url} ({type(exc).__name__})"
        return
    status.outbox_backlog = _sample(samples, "schuldenlab_outbox_backlog", schema=status.name)
    status.outbox_oldest_seconds = _sample(samples, "schuldenlab_outbox_oldest_age_seconds", schema=status.name)
    if status.name == "notifications":
        # Counted since the notifications process started; the queue itself is as of its last scan.
        webhooks.update(
            pending=_sample(samples, "schuldenlab_webhook_pending"),
            pending_oldest_seconds=_sample(samples, "schuldenlab_webhook_pending_oldest_age_seconds"),
            # A counter has no series until its first count: absent is none yet.
            delivered=_sample(samples, "schuldenlab_webhook_deliveries_total", outcome="succeeded") or 0.0,
            failed=_sample(samples, "schuldenlab_webhook_deliveries_total", outcome="failed") or 0.0,
            attempts_failed=_sample(samples, "schuldenlab_webhook_attempts_total", outcome="failed") or 0.0,
        )


async def _ask_kafka(settings: Settings, report: Report) -> None:
    """Dead letters per service and each group's lag, from end offsets and committed offsets; never joins a group."""
    client = client_options(settings, client_id="schuldenlab-status")
    consumed = consumed_topics(SERVICES)
    topics = sorted({t for ts in consumed.values() for t in ts} | {dead_letter_topic(s) for s in SERVICES}
                    | {retry_topic(s) for s in SERVICES})
    partitions = {topic: await topic_partitions(client, topic) for topic in topics}
    everything = [tp for tps in partitions.values() for tp in tps]
    consumer = AIOKafkaConsumer(**client, group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(**client)
    await consumer.start()
    await admin.start()
    try:
        starts = await consumer.beginning_offsets(everything)
        ends = await consumer.end_offsets(everything)

        def retained(topic: str) -> int:
            return sum(ends[tp] - starts[tp] for tp in partitions[topic])

        for status in report.services:
            status.dead_letters = retained(dead_letter_topic(status.name))
            status.replayed = retained(retry_topic(status.name))
        for group, group_topics in consumed.items():
            read = [tp for topic in group_topics for tp in partitions[topic]]
            # Partitions named: asking for "all of the group's" is a newer request the embedded broker lacks.
            committed = await admin.list_consumer_group_offsets(group, partitions=read) if read else {}
            for tp in read:
                # -1 or absent: nothing committed yet; the group starts at the earliest retained record.
                offset = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else starts[tp]
                report.lags.append(Lag(group, tp.topic, tp.partition, max(0, ends[tp] - offset)))
    finally:
        await admin.close()
        await consumer.stop()


def _judge(report: Report) -> None:
    for s in report.services:
        if s.ready != "ready":
            report.problems.append(f"{s.name} is not ready: {s.ready}")
        if (s.outbox_oldest_seconds or 0) > OUTBOX_AGE_LIMIT:
            report.problems.append(f"{s.name}'s outbox has {s.outbox_backlog:.0f} rows unpublished, the oldest "
                                   f"{s.outbox_oldest_seconds:.0f} s old (the relay is stuck)")
        waiting = (s.dead_letters or 0) - (s.replayed or 0)
        if waiting > 0:
            report.problems.append(f"{s.name} has {waiting} dead letter(s) not replayed on {dead_letter_topic(s.name)} "
                                   f"(`schuldenlab dlq list {s.name}`)")
    for lag in report.lags:
        if lag.lag > LAG_LIMIT:
            report.problems.append(f"{lag.group} is {lag.lag} records behind on {lag.topic}[{lag.partition}]")


async def collect(settings: Settings) -> Report:
    report = Report([ServiceStatus(name, settings.url_of(name)) for name in SERVICES])
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        await asyncio.gather(*(_ask_service(client, s, report.webhooks) for s in report.services))
    try:
        async with asyncio.timeout(KAFKA_TIMEOUT):
            await _ask_kafka(settings, report)
    except Exception as exc:  # the broker away is what this command is for: say so, do not fail
        report.problems.append(f"kafka at {settings.kafka_bootstrap_servers} does not answer "
                               f"({type(exc).__name__}): lag and dead letters unknown")
    _judge(report)
    return report


def _number(value: float | None, unit: str = "") -> str:
    return "?" if value is None else f"{value:.0f}{unit}"


def render(report: Report, *, now: datetime) -> str:
    lines = [f"schuldenlab status  {now:%Y-%m-%d %H:%M:%S} UTC", "",
             f"{'SERVICE':<14} {'READY':<8} {'OUTBOX':>6} {'OLDEST':>7} {'DEAD LETTERS':>13} {'REPLAYED':>9}"]
    for s in report.services:
        lines.append(f"{s.name:<14} {'yes' if s.ready == 'ready' else 'NO':<8} {_number(s.outbox_backlog):>6} "
                     f"{_number(s.outbox_oldest_seconds, ' s'):>7} {_number(s.dead_letters):>13} "
                     f"{_number(s.replayed):>9}")
    # One line a group, so the screen stays one screen: the partitions behind are named, the rest summed up
    # (`--json` lists every partition).
    lines += ["", f"{'CONSUMER GROUP':<14} {'LAG':>6}  BEHIND ON"]
    for group in dict.fromkeys(lag.group for lag in report.lags):
        behind = [lag for lag in report.lags if lag.group == group and lag.lag]
        lines.append(f"{group:<14} {sum(lag.lag for lag in behind):>6}  "
                     + (", ".join(f"{lag.topic}[{lag.partition}]: {lag.lag}" for lag in behind) or "-"))
    w = report.webhooks
    lines += ["", f"webhooks: {_number(w.get('pending'))} pending (oldest "
              f"{_number(w.get('pending_oldest_seconds'), ' s')}), {_number(w.get('delivered'))} delivered, "
              f"{_number(w.get('failed'))} failed, {_number(w.get('attempts_failed'))} attempts failed "
              "(since notifications started)", ""]
    lines += [f"UNHEALTHY: {p}" for p in report.problems] or ["healthy"]
    return "\n".join(lines)


def as_json(report: Report) -> dict:
    return {"healthy": report.healthy, **asdict(report)}


def status(settings: Settings, *, watch: bool = False, json_output: bool = False) -> int:
    """0 when healthy, 1 when not (the reasons listed); with `watch`, redrawn every 2 s until Ctrl-C."""
    settings = require_broker(settings)  # no platform: one line from main, exit code 1
    code = 1
    try:
        while True:
            report = asyncio.run(collect(settings))
            code = 0 if report.healthy else 1
            if json_output:
                print(json.dumps(as_json(report)), flush=True)
            else:
                if watch and sys.stdout.isatty():
                    print("\x1b[H\x1b[2J", end="")  # clear the screen: a terminal only, never into a file
                print(render(report, now=datetime.now(UTC)), flush=True)
            if not watch:
                return code
            time.sleep(REFRESH_SECONDS)
    except KeyboardInterrupt:
        return code  # Ctrl-C ends the watch; the exit code is that of the last screen
