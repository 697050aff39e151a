"""Kafka client settings, built in this one place for every producer, consumer and admin client of the project.

The services' FastStream brokers, the CLI's `topics`, `acls`, `events` and `dlq` commands, `up` and the
test harness all take their bootstrap servers, security protocol, SASL and TLS settings from here, so a
cluster that needs SASL_SSL is reached the same way by all of them.
"""

from __future__ import annotations

import ssl
from typing import Any

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


def producer_options(settings: Settings, *, client_id: str | None = None) -> dict[str, Any]:
    """A producer that loses nothing it acknowledged: acks=all, idempotent unless switched off."""
    return {**client_options(settings, client_id=client_id), "acks": "all",
            "enable_idempotence": settings.kafka_idempotence}


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


def explain_connection_error(exc: BaseException, settings: Settings) -> ConfigError | None:
    """One line naming the setting behind a failure to start a Kafka client, where one setting explains it.

    Returns None when the error is not one an operator fixes with a setting (a broker that is down,
    say): that one keeps its own message.
    """
    name = type(exc).__name__
    text = str(exc)
    servers = settings.kafka_bootstrap_servers
    if name in ("UnsupportedVersionError", "UnsupportedForMessageFormatError") or (
            settings.kafka_idempotence and "InitProducerId" in text):
        if settings.kafka_idempotence:
            return ConfigError(f"SCHULDENLAB_KAFKA_IDEMPOTENCE=true: the broker at {servers} refuses the idempotent "
                               f"producer ({name}); set it to false for a broker without it")
    if name in ("SaslAuthenticationFailedError", "AuthenticationFailedError", "IllegalSaslStateError"):
        return ConfigError(f"SCHULDENLAB_KAFKA_SASL_USERNAME / _SASL_PASSWORD: the broker at {servers} refused the "
                           f"login of {settings.kafka_security.sasl_username!r} "
                           f"({settings.kafka_security.sasl_mechanism}): {text or name}")
    if name == "UnsupportedSaslMechanismError" or ("mechanism" in text.lower() and "sasl" in text.lower()):
        return ConfigError(f"SCHULDENLAB_KAFKA_SASL_MECHANISM={settings.kafka_security.sasl_mechanism}: the broker "
                           f"at {servers} does not offer it: {text or name}")
    if isinstance(exc, ssl.SSLError):
        return ConfigError(f"SCHULDENLAB_KAFKA_SSL_CAFILE / SCHULDENLAB_KAFKA_SECURITY_PROTOCOL: TLS with {servers} "
                           f"failed: {exc}")
    if name in ("TopicAuthorizationFailedError", "GroupAuthorizationFailedError", "ClusterAuthorizationFailedError"):
        return ConfigError(f"SCHULDENLAB_KAFKA_SASL_USERNAME={settings.kafka_security.sasl_username!r} lacks an ACL "
                           f"on {servers} ({name}); `schuldenlab acls` lists what each service needs")
    return None
