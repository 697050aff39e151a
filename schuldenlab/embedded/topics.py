"""Idempotent creation of the platform's Kafka topics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code


@dataclass(frozen=True)
class TopicSpec:
    """A topic the platform needs; a compacted one keeps the latest record per key."""

    name: str
    partitions: int = 3
    compacted: bool = False


async def ensure_topics(
    bootstrap_servers: str, topics: Sequence[TopicSpec], *, replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the names this call created.

    Tansu (the embedded broker) accepts and stores any topic config, returning it from
    DescribeConfigs, but its memory engine neither compacts nor validates: unknown keys,
    a replication factor above the broker count, 0 partitions and odd names all pass.
    So only `cleanup.policy` is sent, and validation is up to the TopicSpec author; a real
    Kafka enforces it.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="schuldenlab-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing: dict[str, TopicSpec] = {}
        for spec in topics:
            if spec.name not in existing:
                missing.setdefault(spec.name, spec)
        if not missing:
            return []
        new_topics = [
            NewTopic(
                spec.name,
                spec.partitions,
                replication_factor,
                topic_configs={"cleanup.policy": "compact"} if spec.compacted else {},
            )
            for spec in missing.values()
        ]
        response = await admin.create_topics(new_topics)
        created = []
        # aiokafka reports per-topic results instead of raising: (name, code[, message]).
        for name, code, *message in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:  # 'exists' = lost a race: just as good
                raise for_code(code)(f"creating topic {name}: {message[0] if message else ''}")
        return created
    finally:
        await admin.close()
