"""Least privilege on the bus: each service is its own principal, allowed exactly what `schuldenlab acls` grants."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from servicekit.config import Settings
from servicekit.kafka import client_options, producer_options
from tests.integration.catalogue.catalogue_support import assessed
from tests.support.apache_kafka import KafkaCluster, admin_endpoint

VERDICTS = "assessment.project-assessed.v1"


def _as(cluster: KafkaCluster, user: str) -> Settings:
    return Settings.from_env({"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
                              **cluster.client_env(user)})


async def _publish_forged_verdict(settings: Settings) -> None:
    record = to_kafka_record(new_event(assessed("7d1c4a52-3b8e-4f0e-9a51-0c8f1d2e3a4b", "proven")))
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(record.topic, value=record.value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()


@pytest.mark.parametrize("intruder", ["notifications", "catalogue", "partnering"])
async def test_no_other_service_may_publish_a_verdict_only_the_assessment_principal_may(
        cluster: KafkaCluster, intruder: str):
    # A hand-made "proven" verdict, as a plain Kafka client logged in as another service would send it.
    with pytest.raises(TopicAuthorizationFailedError):
        await _publish_forged_verdict(_as(cluster, intruder))
    await _publish_forged_verdict(_as(cluster, "assessment"))  # the owner may (idempotent producer and all)


async def test_a_service_may_not_join_another_services_consumer_group(cluster: KafkaCluster):
    consumer = AIOKafkaConsumer(VERDICTS, **client_options(_as(cluster, "notifications")), group_id="catalogue",
                                enable_auto_commit=False)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await consumer.start()
            await consumer.getone()
    finally:
        await consumer.stop()


def test_the_printed_commands_are_what_kafkas_own_tool_accepts_and_lists(cluster: KafkaCluster):
    printed = subprocess.run([sys.executable, "-m", "schuldenlab", "acls"], capture_output=True, text=True,
                             check=True).stdout
    assessment_commands = []
    section = None
    for line in printed.splitlines():
        if line.startswith("# ") and len(line.split()) == 2:
            section = line.split()[1]
        elif line.startswith("kafka-acls") and section == "assessment":
            assessment_commands.append(shlex.split(line))
    assert assessment_commands
    for command in assessment_commands:
        args = command[1:]
        for option in ("--bootstrap-server", "--command-config"):  # the harness gives its own
            at = args.index(option)
            del args[at:at + 2]
        added = cluster.tool("org.apache.kafka.tools.AclCommand", *args, "--force")
        assert added.returncode == 0, added.stdout + added.stderr
    listed = cluster.tool("org.apache.kafka.tools.AclCommand", "--list", "--principal", "User:assessment")
    assert listed.returncode == 0, listed.stderr
    assert f"name={VERDICTS}, patternType=LITERAL" in listed.stdout
    assert "operation=WRITE" in listed.stdout and "name=assessment, patternType=LITERAL" in listed.stdout


def test_apply_is_idempotent_on_the_cluster(cluster: KafkaCluster):
    from tests.support.apache_kafka import _clean_env, endpoint_env

    env = {**_clean_env(), **endpoint_env(admin_endpoint(cluster))}
    again = subprocess.run([sys.executable, "-m", "schuldenlab", "acls", "--apply"], capture_output=True, text=True,
                           env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
