"""A wrong Kafka setting stops `schuldenlab run` with one line naming the variable, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.apache_kafka import KafkaCluster, _clean_env


@pytest.mark.parametrize(("mistake", "named"), [
    ({"SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD": "not-the-password"}, "SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD"),
    ({"SCHULDENLAB_CATALOGUE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"}, "SCHULDENLAB_CATALOGUE_KAFKA_SASL_MECHANISM"),
    ({"SCHULDENLAB_CATALOGUE_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", "SCHULDENLAB_CATALOGUE_KAFKA_SASL_MECHANISM": "",
      "SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME": "", "SCHULDENLAB_CATALOGUE_KAFKA_SASL_PASSWORD": ""},
     "SCHULDENLAB_CATALOGUE_KAFKA_SECURITY_PROTOCOL"),
    ({"SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME": "assessment"}, "SCHULDENLAB_CATALOGUE_KAFKA_SASL_USERNAME"),
], ids=["wrong-password", "mechanism-not-offered", "plaintext-on-a-sasl-listener", "another-services-user"])
def test_a_wrong_kafka_setting_is_one_line_naming_the_variable(cluster: KafkaCluster, tmp_path, mistake, named):
    env = {**_clean_env(), **cluster.services_env(), "SCHULDENLAB_HOME": str(tmp_path),
           "SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", **mistake}
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "run", "catalogue"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert not any(password in result.stderr for password in cluster.users.values())


def test_a_broker_certificate_the_client_does_not_trust_is_one_line_naming_the_ca_setting(
        cluster: KafkaCluster, tmp_path):
    env = {**_clean_env(), **cluster.platform_env(tls=True), "SCHULDENLAB_HOME": str(tmp_path),
           "SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    del env["SCHULDENLAB_KAFKA_SSL_CAFILE"]  # the system's trust store does not know the cluster's own CA
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "run", "notifications"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SCHULDENLAB_KAFKA_SSL_CAFILE" in lines[0] and "CERTIFICATE_VERIFY_FAILED" in lines[0], \
        result.stderr
