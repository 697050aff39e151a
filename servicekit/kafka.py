"""Kafka client settings, built in this one place for every producer, consumer and admin client of the project.

The services' FastStream brokers, the CLI's `topics`, `acls`, `events` and `dlq` commands, `up` and the
test harness all take their bootstrap servers, security protocol, SASL and TLS settings from here, so a
cluster that needs SASL_SSL is reached the same way by all of them.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from servicekit.config import ConfigError, KafkaSecurity, Settings


def _ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    if not security.uses_ssl:
        return None
    # No CA file: the system's trust store, as for any TLS client (a managed cluster's public CA).
    return create_ssl_context(cafile=security.ssl_cafile, certfile=security.ssl_certfile,
                              keyfile=security.ssl_keyfile)


def security_options(security: KafkaSecurity) -> dict[str, Any]:
    """aiokafka keyword arguments for the security protocol, SASL and TLS."""
    options: dict[str, Any] = {"security_protocol": security.protocol}
    context = _ssl_context(security)
    if context is not None:
        options["ssl_context"] = context
    if security.uses_sasl:
        options.update(sasl_mechanism=security.sasl_mechanism, sasl_plain_username=security.sasl_username,
                       sasl_plain_password=security.sasl_password)
    return options


def bootstrap_servers(settings: Settings) -> list[str]:
    """`host:port,host:port` as the list aiokafka wants (it takes a single string for one server only)."""
    servers = [server.strip() for server in settings.require_kafka().split(",") if server.strip()]
    if not servers:
        raise ConfigError(f"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers!r}: "
                          "expected host:port[,host:port...]")
    return servers


def client_options(settings: Settings, *, client_id: str | None = None) -> dict[str, Any]:
    """Everything an aiokafka client (consumer, producer, admin) needs to reach and log in to the cluster."""
    options = {"bootstrap_servers": bootstrap_servers(settings), **security_options(settings.kafka_security)}
    if client_id:
        options["client_id"] = client_id
    return options


# The largest record an event topic takes (its max.message.bytes, set by `schuldenlab topics`). Events
# are a few KiB (a request body is at most 64 KiB); the limit is set on the topics rather than left to
# the cluster's default (1 MiB on Apache Kafka, other values on managed clusters) so that it is the same
# everywhere and the dead-letter topics can be set above it. 2 MiB leaves the contracts room to grow.
EVENT_RECORD_MAX_BYTES = 2 * 1024 * 1024
# A dead letter is the record plus the dlq_* headers (dlq_error at most 4,000 characters, the others
# short), so the dead-letter and retry topics take this much more: any record an event topic accepted
# is dead-lettered (and replayed) whole.
DEAD_LETTER_HEADROOM_BYTES = 64 * 1024
DEAD_LETTER_RECORD_MAX_BYTES = EVENT_RECORD_MAX_BYTES + DEAD_LETTER_HEADROOM_BYTES


def producer_options(settings: Settings, *, client_id: str | None = None) -> dict[str, Any]:
    """A producer that loses nothing it acknowledged: acks=all, idempotent unless switched off.

    It sends records as large as the dead-letter topics take (aiokafka's default stops at 1 MiB, so a
    1.5 MB poison record could not be dead-lettered); a topic with a smaller limit refuses the rest.
    """
    return {**client_options(settings, client_id=client_id), "acks": "all",
            "enable_idempotence": settings.kafka_idempotence, "max_request_size": DEAD_LETTER_RECORD_MAX_BYTES}


def faststream_security(security: KafkaSecurity) -> BaseSecurity | None:
    """The same settings in the form FastStream's KafkaBroker takes (it turns them back into aiokafka's)."""
    context = _ssl_context(security)
    if security.uses_sasl:
        kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256,
                "SCRAM-SHA-512": SASLScram512}[security.sasl_mechanism or ""]
        return kind(security.sasl_username or "", security.sasl_password or "", ssl_context=context,
                    use_ssl=security.uses_ssl)
    if security.uses_ssl:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None


async def check_connection(settings: Settings) -> None:
    """Log in and start an (idempotent) producer once, so a wrong setting is one line naming it, not a traceback.

    aiokafka reports a refused login, an unknown mechanism or a protocol mismatch only in its log and
    then raises "Unable to bootstrap"; those log lines are caught here (and not printed) to name the
    setting. A broker that refuses the idempotent producer answers InitProducerId with an error that
    does not say why (the embedded broker: UnknownError): if a producer without idempotence then
    starts, that was the cause.
    """
    options = producer_options(settings, client_id="schuldenlab-check")
    with _client_log() as logged:
        try:
            await _start_and_stop(options)
            return
        except Exception as exc:
            failure = exc
        explained = explain_connection_error(failure, settings, logged)
        if explained is None and settings.kafka_idempotence:
            try:
                await _start_and_stop({**options, "enable_idempotence": False})
            except Exception:
                pass
            else:
                explained = ConfigError(
                    f"{settings.variable('KAFKA_IDEMPOTENCE')}=true: the broker at {settings.kafka_bootstrap_servers} "
                    f"refuses the idempotent producer ({type(failure).__name__}: {failure}); set it to false for a "
                    "broker without it (the embedded one)")
    raise explained or ConfigError(
        f"{settings.variable('KAFKA_BOOTSTRAP_SERVERS')}={settings.kafka_bootstrap_servers}: cannot start a producer "
        f"there ({type(failure).__name__}: {failure})")


async def _start_and_stop(options: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(**options)
    try:
        await producer.start()
    finally:
        await producer.stop()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _client_log() -> Iterator[list[str]]:
    """aiokafka's warnings and errors while the block runs, kept from the operator's terminal."""
    logger = logging.getLogger("aiokafka")
    capture, propagate = _Capture(), logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    try:
        yield capture.messages
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate


def explain_connection_error(exc: BaseException, settings: Settings,
                             logged: Sequence[str] = ()) -> ConfigError | None:
    """One line naming the setting behind a failure to start a Kafka client, where one setting explains it.

    `logged` is what aiokafka logged meanwhile (it keeps the cause of a failed bootstrap there).
    Returns None when no one setting explains the error.
    """
    name = type(exc).__name__
    said = " ".join([str(exc), *logged])
    servers = settings.kafka_bootstrap_servers
    security = settings.kafka_security
    var = settings.variable
    if "SaslAuthenticationFailed" in said or name in ("SaslAuthenticationFailedError", "AuthenticationFailedError"):
        return ConfigError(f"{var('KAFKA_SASL_USERNAME')} / {var('KAFKA_SASL_PASSWORD')}: the broker at {servers} "
                           f"refused the login of {security.sasl_username!r} with {security.sasl_mechanism}")
    if "UnsupportedSaslMechanism" in said:
        return ConfigError(f"{var('KAFKA_SASL_MECHANISM')}={security.sasl_mechanism}: the broker at {servers} does "
                           "not offer this mechanism")
    if isinstance(exc, ssl.SSLError) or "SSL" in said or "certificate" in said.lower():
        detail = next((line for line in logged if "SSL" in line or "certificate" in line.lower()), str(exc))
        return ConfigError(f"{var('KAFKA_SSL_CAFILE')} / {var('KAFKA_SECURITY_PROTOCOL')}={security.protocol}: TLS "
                           f"with {servers} failed: {detail.strip()[:300]}")
    if name in ("TopicAuthorizationFailedError", "GroupAuthorizationFailedError", "ClusterAuthorizationFailedError"):
        return ConfigError(f"{var('KAFKA_SASL_USERNAME')}={security.sasl_username!r} lacks an ACL on {servers} "
                           f"({name}); `schuldenlab acls` lists what each service needs")
    if "Connect call failed" in said or "Name or service not known" in said:
        return ConfigError(f"{var('KAFKA_BOOTSTRAP_SERVERS')}={servers}: no broker answers there")
    if name == "KafkaConnectionError":
        # Reached, but the broker hung up during the handshake: it speaks another protocol on that port.
        return ConfigError(f"{var('KAFKA_SECURITY_PROTOCOL')}={security.protocol}: the broker at {servers} closed "
                           "the connection during the handshake; does its listener expect another protocol "
                           "(SASL_SSL, SASL_PLAINTEXT, SSL)?")
    return None
