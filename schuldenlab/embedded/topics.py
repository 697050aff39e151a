"""Idempotent creation of the platform's Kafka topics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code


@dataclass(frozen=True)
class TopicSpec:
    """A topic the platform needs; a compacted one keeps the latest record per key."""

    name: str
    partitions: int = 3
    compacted: bool = False
    configs: Mapping[str, str] = field(default_factory=dict)  # further topic configs, for a real Kafka


def topic_configs(spec: TopicSpec, replication_factor: int) -> dict[str, str]:
    """What a topic is created with: compaction where asked, and writes that survive one lost broker.

    With three replicas or more, acks=all waits for two of them (min.insync.replicas=2): one broker
    may fail without refusing writes or losing an acknowledged one.
    """
    configs = {"cleanup.policy": "compact"} if spec.compacted else {}
    if replication_factor >= 3:
        configs["min.insync.replicas"] = "2"
    return configs | dict(spec.configs)


async def ensure_topics(
    client: Mapping[str, Any], topics: Sequence[TopicSpec], *, replication_factor: int | None = None
) -> list[str]:
    """Create the topics that do not exist yet; return the names this call created.

    Tansu (the embedded broker) accepts and stores any topic config, returning it from
    DescribeConfigs, but its memory engine neither compacts nor validates: unknown keys,
    a replication factor above the broker count, 0 partitions and odd names all pass.
    Of the configs the platform sets, it honours `cleanup.policy` alone: it stores `max.message.bytes`
    without enforcing it (there the producers' own max_request_size is the limit), and validation is
    up to the TopicSpec author; a real Kafka enforces it. An existing topic is left as it is, configs
    included. `client` is the admin client's options (`servicekit.kafka.client_options`).
    Without a replication factor, topics get three replicas, or one per broker on a smaller cluster.
    """
    admin = AIOKafkaAdminClient(**{"client_id": "schuldenlab-topics", **client})
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing: dict[str, TopicSpec] = {}
        for spec in topics:
            if spec.name not in existing:
                missing.setdefault(spec.name, spec)
        if not missing:
            return []
        if replication_factor is None:
            replication_factor = min(3, len((await admin.describe_cluster())["brokers"]))
        new_topics = [
            NewTopic(
                spec.name,
                spec.partitions,
                replication_factor,
                topic_configs=topic_configs(spec, replication_factor),
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
