"""The Kafka ACLs each service's principal needs, and no more: printed for `kafka-acls.sh`, or applied.

Each service logs in as its own principal (`User:<prefix><service>`). It may write only the topics
it produces and its own dead-letter topic, read only the topics it consumes and its own retry topic,
and use only its own consumer group. With the cluster's `allow.everyone.if.no.acl.found=false`, that
is what stops one service (or anyone holding its password) from publishing another's events, or from
making another service process a record again: no service may write any retry topic. The operator's
user writes them (`schuldenlab dlq replay`); it is the cluster's administrator, like the user that
creates the topics and adds these ACLs, so it needs none of them.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import IncompatibleBrokerVersion, KafkaError, for_code
from aiokafka.protocol.admin import CreateAclsRequest

from schuldenlab.services import load_definition
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import dead_letter_topic, retry_topic, topics_for
from servicekit.kafka import client_options, explain_connection_error


class ResourceType(enum.IntEnum):
    """Kafka's resource types (org.apache.kafka.common.resource.ResourceType), those the platform uses."""

    TOPIC = 2
    GROUP = 3


class Operation(enum.IntEnum):
    """Kafka's ACL operations (org.apache.kafka.common.acl.AclOperation), those the platform grants."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8


ALLOW = 3  # AclPermissionType.ALLOW: the platform grants, it never needs a DENY
LITERAL = 3  # PatternType.LITERAL: each ACL names one topic or group exactly, never a prefix
ANY_HOST = "*"


@dataclass(frozen=True, order=True)
class Acl:
    """One allow rule: `principal` may do `operation` on the topic or group `resource_name`, from any host."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    operation: Operation

    def __str__(self) -> str:
        return (f"{self.principal} {self.operation.name} on {self.resource_type.name.lower()} "
                f"{self.resource_name}")


@dataclass(frozen=True)
class ServiceAccess:
    """What one service does on the bus: the topics it writes and reads, and its consumer group."""

    service: str
    produces: tuple[str, ...]
    consumes: tuple[str, ...]

    @property
    def group(self) -> str:
        return self.service  # the consumer group id is the service's name (servicekit.broker)


def service_access(service: str, consumed_topics: Iterable[str]) -> ServiceAccess:
    """The service's topics: the registry's events it is the source of, its dead-letter topic, what it consumes."""
    produced = [spec.topic for spec in EVENTS if spec.source == service] + [dead_letter_topic(service)]
    return ServiceAccess(service, tuple(produced), tuple(sorted(set(consumed_topics))))


def principal_of(service: str, prefix: str = "") -> str:
    return f"User:{prefix}{service}"


def required_acls(access: ServiceAccess, *, principal_prefix: str = "") -> list[Acl]:
    """Least privilege for one service.

    Kafka lets WRITE and READ imply DESCRIBE; DESCRIBE is granted explicitly all the same, so the
    list says in full what the clients do (look up metadata and offsets of each topic they use).
    Since Kafka 3.0 (KIP-679) the idempotent producer needs only WRITE on the topics it writes: no
    IDEMPOTENT_WRITE on the cluster, and no transactional id, since the platform uses no transactions.
    READ on the group covers joining it, heartbeats, and committing and fetching offsets.
    """
    principal = principal_of(access.service, principal_prefix)
    acls = {Acl(principal, ResourceType.TOPIC, topic, op)
            for topic in access.produces for op in (Operation.WRITE, Operation.DESCRIBE)}
    acls |= {Acl(principal, ResourceType.TOPIC, topic, op)
             for topic in access.consumes for op in (Operation.READ, Operation.DESCRIBE)}
    if access.consumes:
        acls.add(Acl(principal, ResourceType.GROUP, access.group, Operation.READ))
    return sorted(acls)


def platform_access(services: Sequence[str], consumed: Mapping[str, Iterable[str]]) -> list[ServiceAccess]:
    """What each service does on the bus, given the topics each one consumes."""
    return [service_access(service, consumed.get(service, ())) for service in services]


def consumed_topics(services: Sequence[str]) -> dict[str, list[str]]:
    """Each service's consumed topics: those of the event types its definition handles, and its retry topic."""
    return {service: [*topics_for(load_definition(service).handlers), retry_topic(service)] for service in services}


KAFKA_ACLS = 'kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties'


def kafka_acls_commands(accesses: Sequence[ServiceAccess], *, principal_prefix: str = "") -> str:
    """Commands for Kafka's own tool, grouped by service: one `--add` per topic or group, all its operations."""
    lines = [
        "# The ACLs of the SchuldenlabNL services, for Kafka's kafka-acls tool. Set BOOTSTRAP to the",
        "# cluster and write admin.properties with the credentials of a user allowed to alter ACLs.",
    ]
    for access in accesses:
        lines += ["", f"# {access.service}"]
        by_resource: dict[tuple[ResourceType, str], list[Operation]] = {}
        for acl in required_acls(access, principal_prefix=principal_prefix):
            by_resource.setdefault((acl.resource_type, acl.resource_name), []).append(acl.operation)
        principal = principal_of(access.service, principal_prefix)
        for (kind, name), operations in by_resource.items():
            ops = " ".join(f"--operation {op.name.title()}" for op in _write_read_first(operations))
            lines.append(f"{KAFKA_ACLS} --add --allow-principal {shlex.quote(principal)} {ops} "
                         f"--resource-pattern-type literal --{kind.name.lower()} {shlex.quote(name)}")
    return "\n".join(lines) + "\n"


def _write_read_first(operations: Iterable[Operation]) -> list[Operation]:
    # DESCRIBE last reads naturally ("Write and Describe"); the order means nothing to Kafka.
    return sorted(set(operations), key=lambda op: (op is Operation.DESCRIBE, op))


class AclError(RuntimeError):
    """The cluster refused to add an ACL; the message names the ACL and Kafka's reason."""


def create_request(acl: Acl) -> CreateAclsRequest:
    """The CreateAcls request for one ACL; aiokafka picks the version per broker (v1 on Kafka 4, which refuses v0)."""
    return CreateAclsRequest(
        resource_type=int(acl.resource_type), resource_name=acl.resource_name, resource_pattern_type_filter=LITERAL,
        principal=acl.principal, host=ANY_HOST, operation=int(acl.operation), permission_type=ALLOW,
    )


async def create_acls(send: Callable[[CreateAclsRequest], Awaitable[object]], acls: Iterable[Acl]) -> int:
    """Add each ACL through `send`; Kafka accepts an ACL it has already, so running this twice is harmless."""
    count = 0
    for acl in acls:
        response = await send(create_request(acl))
        for error_code, error_message in response.creation_responses:
            if error_code != 0:
                reason = for_code(error_code).__name__
                raise AclError(f"could not add the ACL {acl}: {reason}"
                               + (f": {error_message}" if error_message else ""))
        count += 1
    return count


async def apply_acls(settings: Settings, acls: Sequence[Acl]) -> int:
    """Add the ACLs on the configured cluster, logged in with the general (operator's) Kafka settings.

    aiokafka has no ACL admin API; its protocol classes and client send CreateAcls directly. Any broker
    takes the request (a KRaft broker forwards it to the controller), so one is picked at random.
    """
    client = AIOKafkaClient(**client_options(settings, client_id="schuldenlab-acls"))
    try:
        await client.bootstrap()
        node = client.get_random_node()
        if node is None:
            raise AclError(f"the cluster at {settings.kafka_bootstrap_servers} named no broker to send ACLs to")
        return await create_acls(lambda request: client.send(node, request), acls)
    except (IncompatibleBrokerVersion, NotImplementedError) as exc:
        # The embedded broker, for one, has no authorizer and does not know CreateAcls at all.
        raise AclError(f"the broker at {settings.kafka_bootstrap_servers} cannot take ACLs over the Kafka "
                       f"protocol (CreateAcls v1): {exc}") from exc
    except KafkaError as exc:
        raise explain_connection_error(exc, settings) or AclError(
            f"could not add ACLs on {settings.kafka_bootstrap_servers}: {exc}") from exc  # str() names the class
    finally:
        await client.close()
