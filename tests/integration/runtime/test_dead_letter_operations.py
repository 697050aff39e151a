"""`schuldenlab dlq list|replay`: dead letters go to the service that gave up on them, and to no other, once."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from schuldenlab.operations import Selection, list_dead_letters, replay_dead_letters
from servicekit.asyncapi import REPLAYED_HEADERS
from servicekit.config import Settings
from servicekit.consumer import REPLAY_OF, VALUE_DROPPED
from tests.integration.runtime.support import event_for, record_of
from tests.support.harness import eventually, running_service, service_settings
from tests.support.kafka import endpoint_env, produce, read_to_end

pytestmark = pytest.mark.integration

DLQ, RETRY, SOURCE = "assessment.dlq.v1", "assessment.retry.v1", "catalogue.project-submitted.v1"


def operator(bootstrap, home) -> Settings:
    return Settings.from_env({"SCHULDENLAB_HOME": str(home), "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
                              **endpoint_env(bootstrap)})


async def dead_letter(bootstrap, event, *, error_type: str = "RuntimeError", offset: int = 0,
                      dropped: bool = False) -> None:
    """A dead letter as assessment's consumer writes it (a stub, without its value, where `dropped`)."""
    record = record_of(event)
    headers = [*record.headers, ("dlq_error", f"{error_type}: database down".encode()),
               ("dlq_error_type", error_type.encode()), ("dlq_original_topic", record.topic.encode()),
               ("dlq_original_partition", b"1"), ("dlq_original_offset", str(offset).encode()),
               ("dlq_consumer_group", b"assessment"), ("dlq_attempts", b"5")]
    if dropped:
        headers.append((VALUE_DROPPED, b"the whole dead letter could not be written (...); value dropped"))
    await produce(bootstrap, DLQ, key=record.key, value=None if dropped else record.value, headers=headers)


def replayed_offsets(records) -> list[str]:
    return [dict(r.headers)[REPLAY_OF].decode() for r in records]


async def test_a_replayed_dead_letter_reaches_only_the_service_that_dead_lettered_it(
        fresh_database, fresh_kafka, tmp_path, capsys):
    # The cause (say, assessment's database down) is fixed; notifications reads the same topic.
    fixed = event_for("Weer goed")
    await dead_letter(fresh_kafka, fixed)
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings), running_service("notifications", settings):
        assert await replay_dead_letters(operator(fresh_kafka, tmp_path), "assessment") == 0
        await eventually(lambda: _in_inbox(fresh_database, "assessment", fixed.id))
        # A later event of the same key: notifications takes it only after all before it on its partition.
        later = event_for("Later", key=uuid.UUID(fixed.subject))
        record = record_of(later)
        await produce(fresh_kafka, SOURCE, key=record.key, value=record.value, headers=list(record.headers))
        await eventually(lambda: _in_inbox(fresh_database, "notifications", later.id))
        assert not await _in_inbox(fresh_database, "notifications", fixed.id)
    shared = await read_to_end(fresh_kafka, SOURCE)
    assert [dict(r.headers)["ce_id"].decode() for r in shared] == [later.id]  # nothing from the replay
    [sent] = await read_to_end(fresh_kafka, RETRY)
    assert sent.value == record_of(fixed).value and sent.key == record_of(fixed).key
    original = {name for name, _ in record_of(fixed).headers}
    assert {name for name, _ in sent.headers} == original | set(REPLAYED_HEADERS)
    progress = _progress(capsys.readouterr().out)
    assert progress == [{"dead_letter": f"{DLQ}[0]@0", "status": "replayed", "error_type": "RuntimeError",
                         "original": f"{SOURCE}[1]@0", "to": RETRY, "progress": "1/1"}]


async def test_a_dry_run_shows_what_would_be_replayed_and_sends_nothing(fresh_kafka, tmp_path, capsys):
    await dead_letter(fresh_kafka, event_for("Een"))
    await dead_letter(fresh_kafka, event_for("Twee"), error_type="ContractViolation")
    assert await replay_dead_letters(operator(fresh_kafka, tmp_path), "assessment", dry_run=True) == 0
    shown = capsys.readouterr()
    assert [line["status"] for line in _progress(shown.out)] == ["would replay"] * 2
    assert "would replay 2 dead letter(s)" in shown.err and "sent nothing" in shown.err
    assert await read_to_end(fresh_kafka, RETRY) == []


async def test_replay_selects_by_offset_range_and_error_type_and_sends_each_dead_letter_once(
        fresh_kafka, tmp_path, capsys):
    for offset, error_type in enumerate(["RuntimeError", "ContractViolation", "RuntimeError", "ContractViolation"]):
        await dead_letter(fresh_kafka, event_for(f"Brief {offset}"), error_type=error_type, offset=offset)
    await dead_letter(fresh_kafka, event_for("Zonder waarde"), dropped=True)  # offset 4: a stub
    settings = operator(fresh_kafka, tmp_path)

    await replay_dead_letters(settings, "assessment", Selection(from_offset=2, error_types=("ContractViolation",)))
    assert replayed_offsets(await read_to_end(fresh_kafka, RETRY)) == [f"{DLQ}[0]@3"]
    await replay_dead_letters(settings, "assessment", Selection(to_offset=1))
    assert replayed_offsets(await read_to_end(fresh_kafka, RETRY))[1:] == [f"{DLQ}[0]@0", f"{DLQ}[0]@1"]
    capsys.readouterr()

    await replay_dead_letters(settings, "assessment")  # the rest: only offset 2; the stub cannot be
    statuses = {line["dead_letter"]: line["status"] for line in _progress(capsys.readouterr().out)}
    assert statuses == {f"{DLQ}[0]@0": "replayed before", f"{DLQ}[0]@1": "replayed before",
                        f"{DLQ}[0]@2": "replayed", f"{DLQ}[0]@3": "replayed before",
                        f"{DLQ}[0]@4": "not replayable: its value was dropped (a stub)"}
    await replay_dead_letters(settings, "assessment")  # once more: nothing is sent twice
    assert "replayed 0 dead letter(s)" in capsys.readouterr().err
    assert sorted(replayed_offsets(await read_to_end(fresh_kafka, RETRY))) == [f"{DLQ}[0]@{n}" for n in range(4)]


async def test_list_shows_each_dead_letter_its_error_whether_it_was_replayed_and_a_dropped_value(
        fresh_kafka, tmp_path, capsys):
    await dead_letter(fresh_kafka, event_for("Teruggestuurd"))
    await dead_letter(fresh_kafka, event_for("Te groot"), error_type="ContractViolation", dropped=True)
    settings = operator(fresh_kafka, tmp_path)
    await replay_dead_letters(settings, "assessment", Selection(to_offset=0))
    capsys.readouterr()

    assert await list_dead_letters(settings, "assessment") == 0
    listed = capsys.readouterr()
    assert "RuntimeError: database down" in listed.out and "2 dead letter(s)" in listed.err
    first, second = listed.out.split("\n#")
    assert f"replayed to assessment ({RETRY})" in first and "value dropped" not in first
    assert "value dropped" in second and "cannot be replayed" in second and "replayed to" not in second
    await list_dead_letters(settings, "assessment", Selection(error_types=("ContractViolation",)))
    assert "1 dead letter(s)" in capsys.readouterr().err


def _progress(out: str) -> list[dict]:
    """The command's JSON lines (the services running in this process print their own lines too)."""
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def _in_inbox(dsn: str, schema: str, event_id: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(f"SELECT count(*) FROM {schema}.inbox WHERE event_id = $1",
                                        uuid.UUID(event_id)))
    finally:
        await conn.close()
