"""Configuration is read from SCHULDENLAB_* variables, and a bad value names its variable."""

from __future__ import annotations

import pytest

from servicekit.config import ConfigError, Settings


def test_defaults_need_nothing_but_a_state_directory(tmp_path):
    settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path)})
    assert settings.home == tmp_path
    assert settings.kafka_idempotence is True
    assert settings.ports["catalogue"] == 8001 and settings.ports["notifications"] == 8004


def test_idempotence_can_be_switched_off_for_the_embedded_broker():
    assert Settings.from_env({"SCHULDENLAB_KAFKA_IDEMPOTENCE": "false"}).kafka_idempotence is False


@pytest.mark.parametrize("name, value", [
    ("SCHULDENLAB_KAFKA_IDEMPOTENCE", "maybe"),
    ("SCHULDENLAB_CATALOGUE_PORT", "eighty"),
    ("SCHULDENLAB_OUTBOX_POLL_INTERVAL", "-1"),
])
def test_a_malformed_variable_is_refused_naming_it(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_signing_key_is_generated_once_into_the_state_directory(tmp_path):
    settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="SCHULDENLAB_JWT_SECRET"):
        settings.signing_key()
    key = settings.signing_key(create=True)
    assert settings.signing_key() == key
    assert (tmp_path / "jwt.key").stat().st_mode & 0o077 == 0


def test_a_configured_signing_key_wins(tmp_path):
    settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_JWT_SECRET": "s" * 40})
    assert settings.signing_key(create=True) == "s" * 40
    assert not (tmp_path / "jwt.key").exists()


def test_missing_connections_are_named():
    settings = Settings.from_env({})
    with pytest.raises(ConfigError, match="SCHULDENLAB_DATABASE_URL"):
        settings.require_database_url()
    with pytest.raises(ConfigError, match="SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS"):
        settings.require_kafka()
