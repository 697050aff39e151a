"""`schuldenlab acls`: each service's principal gets exactly what it produces, consumes and commits, no more."""

from __future__ import annotations

import argparse
import shlex

import pytest
from aiokafka.protocol.admin import CreateAclsRequest_v0, CreateAclsRequest_v1, CreateAclsResponse_v1

from schuldenlab.acls import (
    Acl,
    AclError,
    Operation,
    ResourceType,
    consumed_topics,
    create_acls,
    create_request,
    kafka_acls_commands,
    platform_access,
    required_acls,
)
from schuldenlab.cli import main
from schuldenlab.services import SERVICES
from schuldenlab_contracts.registry import EVENTS

READ, WRITE, DESCRIBE = Operation.READ, Operation.WRITE, Operation.DESCRIBE
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
# What a Kafka 4 broker answers to ApiVersions for CreateAcls (api key 30): v0 is gone (KIP-896).
KAFKA_4_VERSIONS = {30: (1, 3)}


@pytest.fixture(scope="module")
def accesses():
    return platform_access(SERVICES, consumed_topics(SERVICES))


@pytest.fixture(scope="module")
def acls(accesses) -> set[Acl]:
    return {acl for access in accesses for acl in required_acls(access)}


def granted(acls: set[Acl], service: str, operation: Operation, kind: ResourceType = TOPIC) -> set[str]:
    return {acl.resource_name for acl in acls
            if acl.principal == f"User:{service}" and acl.operation is operation and acl.resource_type is kind}


def test_notifications_may_not_write_a_verdict_or_anything_but_its_dead_letters(acls):
    assert "assessment.project-assessed.v1" not in granted(acls, "notifications", WRITE)
    assert granted(acls, "notifications", WRITE) == {"notifications.dlq.v1"}


def test_assessment_writes_its_verdicts_and_dead_letters_and_reads_its_own_group(acls):
    assert granted(acls, "assessment", WRITE) == {"assessment.project-assessed.v1", "assessment.reassessment-due.v1",
                                                  "assessment.dlq.v1"}
    assert {"assessment.project-assessed.v1", "assessment.dlq.v1"} <= granted(acls, "assessment", DESCRIBE)
    assert granted(acls, "assessment", READ, GROUP) == {"assessment"}


def test_every_event_topic_is_written_by_its_producer_alone(acls):
    for spec in EVENTS:
        writers = {acl.principal for acl in acls if acl.operation is WRITE and acl.resource_name == spec.topic}
        assert writers == {f"User:{spec.source}"}, spec.topic


def test_every_topic_a_service_consumes_is_readable_and_describable_by_it_and_nothing_else_is(acls):
    for service, topics in consumed_topics(SERVICES).items():
        assert topics, service  # every service consumes something, so this checks something for each
        assert granted(acls, service, READ) == set(topics)
        assert set(topics) <= granted(acls, service, DESCRIBE)


def test_each_service_reads_only_its_own_consumer_group(acls):
    groups = {acl for acl in acls if acl.resource_type is GROUP}
    assert groups == {Acl(f"User:{s}", GROUP, s, READ) for s in SERVICES}


def test_a_principal_prefix_renames_the_users_but_not_their_groups(accesses):
    [catalogue] = [access for access in accesses if access.service == "catalogue"]
    acls = required_acls(catalogue, principal_prefix="schuldenlab-")
    assert {acl.principal for acl in acls} == {"User:schuldenlab-catalogue"}
    assert Acl("User:schuldenlab-catalogue", GROUP, "catalogue", READ) in acls


def kafka_acls_parser() -> argparse.ArgumentParser:
    """The options of Kafka's kafka-acls tool that the printed commands use."""
    p = argparse.ArgumentParser(prog="kafka-acls.sh", exit_on_error=False)
    p.add_argument("--bootstrap-server", required=True)
    p.add_argument("--command-config", required=True)
    p.add_argument("--add", action="store_true", required=True)
    p.add_argument("--allow-principal", required=True)
    p.add_argument("--operation", action="append", required=True, choices=("Read", "Write", "Describe"))
    p.add_argument("--resource-pattern-type", required=True, choices=("literal",))
    resource = p.add_mutually_exclusive_group(required=True)
    resource.add_argument("--topic")
    resource.add_argument("--group")
    return p


def test_the_printed_commands_add_exactly_the_required_acls_one_command_per_resource_under_a_header_per_service(
        accesses, acls):
    text = kafka_acls_commands(accesses)
    parsed: set[Acl] = set()
    resources: list[tuple[str, str]] = []
    service = None
    for line in text.splitlines():
        if line.startswith("# ") and line[2:] in SERVICES:
            service = line[2:]
            continue
        if not line or line.startswith("#"):
            continue
        argv = shlex.split(line)
        assert argv[0] == "kafka-acls.sh"
        args = kafka_acls_parser().parse_args(argv[1:])
        assert args.bootstrap_server == "$BOOTSTRAP" and args.command_config == "admin.properties"
        assert args.allow_principal == f"User:{service}"  # under its own service's header
        kind, name = (TOPIC, args.topic) if args.topic else (GROUP, args.group)
        resources.append((args.allow_principal, name))
        parsed |= {Acl(args.allow_principal, kind, name, Operation[op.upper()]) for op in args.operation}
    assert parsed == acls
    assert len(resources) == len(set(resources))  # one command per principal and resource
    assert [line[2:] for line in text.splitlines() if line[2:] in SERVICES] == list(SERVICES)


def test_the_acls_command_prints_the_commands_and_honours_the_principal_prefix(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["acls", "--principal-prefix", "schuldenlab-"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert ("--add --allow-principal User:schuldenlab-assessment --operation Write --operation Describe "
            "--resource-pattern-type literal --topic assessment.project-assessed.v1") in out
    assert "User:catalogue " not in out


def test_the_create_request_is_version_1_with_a_literal_pattern_on_a_kafka_4_broker():
    acl = Acl("User:assessment", TOPIC, "assessment.project-assessed.v1", WRITE)
    struct = create_request(acl).prepare(KAFKA_4_VERSIONS)
    assert type(struct) is CreateAclsRequest_v1
    # What goes on the wire, read back: TOPIC=2, LITERAL=3, WRITE=4, ALLOW=3, any host.
    decoded = CreateAclsRequest_v1.decode(struct.encode())
    assert decoded.creations == [(2, "assessment.project-assessed.v1", 3, "User:assessment", "*", 4, 3)]


def test_a_group_acl_encodes_resource_type_group_and_operation_read():
    struct = create_request(Acl("User:catalogue", GROUP, "catalogue", READ)).prepare(KAFKA_4_VERSIONS)
    assert CreateAclsRequest_v1.decode(struct.encode()).creations == [
        (3, "catalogue", 3, "User:catalogue", "*", 3, 3)]


def test_an_old_broker_gets_version_0_which_has_no_pattern_type_and_means_literal():
    struct = create_request(Acl("User:catalogue", GROUP, "catalogue", DESCRIBE)).prepare({30: (0, 0)})
    assert type(struct) is CreateAclsRequest_v0
    assert CreateAclsRequest_v0.decode(struct.encode()).creations == [(3, "catalogue", "User:catalogue", "*", 8, 3)]


class FakeBroker:
    """Takes CreateAcls as a Kafka 4 broker would: negotiated, encoded; answers with the given error code."""

    def __init__(self, error_code: int = 0, message: str | None = None) -> None:
        self.error_code, self.message = error_code, message
        self.received: list[tuple] = []

    async def send(self, request):
        struct = request.prepare(KAFKA_4_VERSIONS)
        self.received += type(struct).decode(struct.encode()).creations
        answer = CreateAclsResponse_v1(0, [(self.error_code, self.message)])
        return CreateAclsResponse_v1.decode(answer.encode())


async def test_applying_sends_each_acl_once_and_counts_them(acls):
    broker = FakeBroker()
    assert await create_acls(broker.send, sorted(acls)) == len(acls)
    assert len(broker.received) == len(acls)
    assert {(name, principal, op) for _, name, _, principal, _, op, _ in broker.received} == {
        (acl.resource_name, acl.principal, acl.operation) for acl in acls}


async def test_a_refused_acl_stops_the_run_with_one_line_naming_it_and_kafkas_reason():
    broker = FakeBroker(error_code=31, message="Cluster authorization failed.")  # CLUSTER_AUTHORIZATION_FAILED
    acl = Acl("User:assessment", TOPIC, "assessment.project-assessed.v1", WRITE)
    with pytest.raises(AclError) as caught:
        await create_acls(broker.send, [acl, Acl("User:assessment", GROUP, "assessment", READ)])
    message = str(caught.value)
    assert "\n" not in message and len(broker.received) == 1  # the first refusal ends the run
    assert "User:assessment WRITE on topic assessment.project-assessed.v1" in message
    assert "ClusterAuthorizationFailedError" in message and "Cluster authorization failed." in message
