"""`schuldenlab dlq list|replay`: dead letters go back to their topic once, without their dlq_* headers."""

from __future__ import annotations

import pytest

from schuldenlab.operations import list_dead_letters, replay_dead_letters
from servicekit.config import Settings
from tests.integration.runtime.support import event_for, record_of
from tests.support.kafka import endpoint_env, produce, read_topic

pytestmark = pytest.mark.integration


async def test_replay_sends_each_dead_letter_back_to_its_topic_once(fresh_kafka, tmp_path, capsys):
    record = record_of(event_for("Teruggestuurd"))
    headers = [*record.headers, ("dlq_error", b"RuntimeError: database down"),
               ("dlq_original_topic", record.topic.encode()), ("dlq_attempts", b"5")]
    await produce(fresh_kafka, "assessment.dlq.v1", key=record.key, value=record.value, headers=headers)
    settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
                                  **endpoint_env(fresh_kafka)})

    assert await list_dead_letters(settings, "assessment") == 0
    listed = capsys.readouterr()
    assert "RuntimeError: database down" in listed.out and "1 dead letter(s)" in listed.err

    assert await replay_dead_letters(settings, "assessment") == 0
    assert await replay_dead_letters(settings, "assessment") == 0  # already replayed: nothing again
    assert "replayed 1 dead letter(s)" in capsys.readouterr().err

    [replayed] = await read_topic(fresh_kafka, record.topic, expect=1)
    assert replayed.value == record.value and replayed.key == record.key
    assert sorted(replayed.headers) == sorted(record.headers)
