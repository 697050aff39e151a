"""Kafka security settings: read once, per service where given, refused in one line naming the variable written."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from faststream.kafka.security import parse_security

from servicekit.config import ConfigError, KafkaSecurity, Settings, service_env
from servicekit.kafka import client_options, faststream_security, security_options

SERVICES = ("catalogue", "assessment", "partnering", "notifications")
PASSWORD = "w8woord-dat-nergens-mag-verschijnen"
SASL = {
    "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093",
    "SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "SCHULDENLAB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "SCHULDENLAB_KAFKA_SASL_USERNAME": "operator",
    "SCHULDENLAB_KAFKA_SASL_PASSWORD": "operator-secret",
}


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> dict[str, str]:
    """A throwaway self-signed CA, and its key, made with the openssl command line."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "ca.pem", folder / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=Schuldenlab test CA"], check=True, capture_output=True)
    return {"ca": str(cert), "cert": str(cert), "key": str(key)}


def _owner(service: str) -> pytest.param:
    # notifications too: once the ports loop of from_env rebound `service`, so it never got its own login.
    return pytest.param(service)


@pytest.mark.parametrize("service", [_owner(s) for s in SERVICES])
def test_a_per_service_value_wins_for_that_service_only(service):
    env = {**SASL, f"SCHULDENLAB_{service.upper()}_KAFKA_SASL_USERNAME": service,
           f"SCHULDENLAB_{service.upper()}_KAFKA_SASL_PASSWORD": f"{service}-secret",
           f"SCHULDENLAB_{service.upper()}_DATABASE_URL": f"postgresql://{service}@db/schuldenlab"}
    settings = Settings.from_env(env)
    own = settings.for_service(service)
    assert (own.service, own.kafka_security.sasl_username, own.kafka_security.sasl_password) == (
        service, service, f"{service}-secret")
    assert own.database_url == f"postgresql://{service}@db/schuldenlab"
    assert client_options(own)["sasl_plain_username"] == service
    for other in SERVICES:
        if other != service:
            assert settings.for_service(other).kafka_security.sasl_username == "operator", other
            assert settings.for_service(other).database_url is None, other
    assert settings.kafka_security.sasl_username == "operator"  # the operator's commands keep the general user


def test_service_env_tells_which_variable_each_value_came_from():
    env = {**SASL, "SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME": "catalogue", "SCHULDENLAB_CATALOGUE_PORT": "9001",
           "SCHULDENLAB_ASSESSMENT_KAFKA_SASL_USERNAME": "assessment"}
    resolved, sources = service_env(env, "catalogue")
    assert resolved["SCHULDENLAB_KAFKA_SASL_USERNAME"] == "catalogue"
    assert sources == {"SCHULDENLAB_KAFKA_SASL_USERNAME": "SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME"}
    assert "SCHULDENLAB_PORT" not in resolved  # only Kafka settings and the database URL are per service


@pytest.mark.parametrize(("written", "value", "named"), [
    ("SCHULDENLAB_KAFKA_SECURITY_PROTOCOL", "SASL_TLS", "SCHULDENLAB_KAFKA_SECURITY_PROTOCOL"),
    ("SCHULDENLAB_CATALOGUE_KAFKA_SECURITY_PROTOCOL", "TLS", "SCHULDENLAB_CATALOGUE_KAFKA_SECURITY_PROTOCOL"),
    ("SCHULDENLAB_KAFKA_SASL_MECHANISM", "GSSAPI", "SCHULDENLAB_KAFKA_SASL_MECHANISM"),
    ("SCHULDENLAB_CATALOGUE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-1", "SCHULDENLAB_CATALOGUE_KAFKA_SASL_MECHANISM"),
    ("SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME", "", "SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME"),
    ("SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD", "", "SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD"),
    ("SCHULDENLAB_CATALOGUE_KAFKA_SSL_CAFILE", "/nonexistent/ca.pem", "SCHULDENLAB_CATALOGUE_KAFKA_SSL_CAFILE"),
])
def test_a_bad_value_is_refused_naming_the_variable_actually_written(written, value, named):
    env = {**SASL, written: value}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env).for_service("catalogue")
    message = str(caught.value)
    assert message.startswith(named) and "\n" not in message
    if "CATALOGUE" in written:
        assert Settings.from_env(env).for_service("assessment").kafka_security.protocol == "SASL_PLAINTEXT"


@pytest.mark.parametrize("missing", ["SCHULDENLAB_KAFKA_SASL_MECHANISM", "SCHULDENLAB_KAFKA_SASL_USERNAME",
                                     "SCHULDENLAB_KAFKA_SASL_PASSWORD"])
def test_a_sasl_protocol_without_mechanism_username_or_password_names_what_is_missing(missing):
    env = {name: value for name, value in SASL.items() if name != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        Settings.from_env(env)


def test_sasl_settings_under_a_protocol_without_sasl_are_refused_rather_than_ignored():
    env = {**SASL, "SCHULDENLAB_CATALOGUE_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_KAFKA_SASL_MECHANISM is set but .*=PLAINTEXT"):
        Settings.from_env(env).for_service("catalogue")


def test_a_certificate_without_its_key_names_the_key_variable(tls_files):
    env = {"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SSL", "SCHULDENLAB_KAFKA_SSL_CERTFILE": tls_files["cert"]}
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_KAFKA_SSL_KEYFILE is not set"):
        Settings.from_env(env)
    env = {"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SSL", "SCHULDENLAB_KAFKA_SSL_KEYFILE": tls_files["key"]}
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_KAFKA_SSL_CERTFILE is not set"):
        Settings.from_env(env)


def test_a_tls_file_under_a_protocol_without_tls_is_refused(tls_files):
    env = {**SASL, "SCHULDENLAB_ASSESSMENT_KAFKA_SSL_CAFILE": tls_files["ca"]}
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_ASSESSMENT_KAFKA_SSL_CAFILE is set but"):
        Settings.from_env(env).for_service("assessment")


def test_the_password_never_appears_in_the_repr_of_the_security_settings():
    security = KafkaSecurity.from_env({**SASL, "SCHULDENLAB_KAFKA_SASL_PASSWORD": PASSWORD})
    assert security.sasl_password == PASSWORD
    assert PASSWORD not in repr(security) and PASSWORD not in str(security)


def test_the_password_never_appears_in_the_repr_of_the_settings():
    env = {**SASL, "SCHULDENLAB_KAFKA_SASL_PASSWORD": PASSWORD, "SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD": PASSWORD}
    settings = Settings.from_env(env)
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in repr(settings.for_service("catalogue"))


def test_plaintext_needs_no_tls_and_no_login():
    settings = Settings.from_env({"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092, kafka-2:9092"})
    assert client_options(settings, client_id="c") == {"bootstrap_servers": ["kafka-1:9092", "kafka-2:9092"],
                                                       "security_protocol": "PLAINTEXT", "client_id": "c"}
    assert faststream_security(settings.kafka_security) is None


def test_sasl_ssl_yields_a_verifying_tls_context_trusting_the_configured_ca(tls_files):
    env = {**SASL, "SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "SCHULDENLAB_KAFKA_SSL_CAFILE": tls_files["ca"]}
    options = client_options(Settings.from_env(env))
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [dict(pair[0] for pair in ca["subject"]) for ca in context.get_ca_certs()] == [
        {"commonName": "Schuldenlab test CA"}]
    assert (options["security_protocol"], options["sasl_mechanism"], options["sasl_plain_username"]) == (
        "SASL_SSL", "SCRAM-SHA-512", "operator")


def test_a_client_certificate_and_key_are_loaded_for_mutual_tls(tls_files):
    env = {"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SSL", "SCHULDENLAB_KAFKA_SSL_CAFILE": tls_files["ca"],
           "SCHULDENLAB_KAFKA_SSL_CERTFILE": tls_files["cert"], "SCHULDENLAB_KAFKA_SSL_KEYFILE": tls_files["key"]}
    context = security_options(Settings.from_env(env).kafka_security)["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode is ssl.CERT_REQUIRED


@pytest.mark.parametrize(("variable", "content"), [
    pytest.param("SCHULDENLAB_CATALOGUE_KAFKA_SSL_CAFILE", "no certificate in here", id="ca-not-pem"),
    pytest.param("SCHULDENLAB_CATALOGUE_KAFKA_SSL_CAFILE", None, id="ca-is-a-directory"),
    pytest.param("SCHULDENLAB_CATALOGUE_KAFKA_SSL_KEYFILE",
                 "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n", id="key-not-a-key"),
])
def test_a_tls_file_that_is_not_what_it_should_be_is_refused_naming_the_variable(tls_files, tmp_path, variable,
                                                                                 content):
    path = tmp_path / "file.pem"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    env = {"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093", "SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SSL",
           "SCHULDENLAB_KAFKA_SSL_CAFILE": tls_files["ca"], "SCHULDENLAB_KAFKA_SSL_CERTFILE": tls_files["cert"],
           "SCHULDENLAB_KAFKA_SSL_KEYFILE": tls_files["key"], variable: str(path)}
    with pytest.raises(ConfigError, match=f"^{variable}"):
        # Wherever the check ends up, a service reaches it before its first connection.
        client_options(Settings.from_env(env).for_service("catalogue"))


@pytest.mark.parametrize(("protocol", "mechanism"), [
    ("PLAINTEXT", None), ("SSL", None), ("SASL_PLAINTEXT", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "PLAIN"),
])
def test_the_services_brokers_log_in_exactly_like_the_plain_clients(protocol, mechanism, tls_files):
    env = {"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": protocol}
    if mechanism:
        env |= {"SCHULDENLAB_KAFKA_SASL_MECHANISM": mechanism, "SCHULDENLAB_KAFKA_SASL_USERNAME": "u",
                "SCHULDENLAB_KAFKA_SASL_PASSWORD": "p"}
    if "SSL" in protocol:
        env["SCHULDENLAB_KAFKA_SSL_CAFILE"] = tls_files["ca"]
    security = Settings.from_env(env).kafka_security
    # FastStream turns its security object back into aiokafka options: they must be ours.
    through_faststream = parse_security(faststream_security(security))
    direct = security_options(security)
    assert (through_faststream.pop("ssl_context", None) is None) == (direct.pop("ssl_context", None) is None)
    if protocol == "PLAINTEXT":
        assert through_faststream == {} and direct == {"security_protocol": "PLAINTEXT"}
    else:
        assert through_faststream == direct
