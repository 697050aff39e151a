"""The key ring for secrets at rest: encryption, rotation, and SCHULDENLAB_SECRETS_KEY read through the one loader."""

from __future__ import annotations

import stat

import pytest

from notifications.bootstrap import definition
from servicekit.config import ConfigError, Settings
from servicekit.secrets import KeyRing, UndecryptableSecret, new_key
from servicekit.service import create_app

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD, NEW = new_key(), new_key()


def _settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path), **env})


def test_a_secret_comes_back_from_its_token_and_the_token_does_not_show_it():
    ring = KeyRing.parse(NEW)
    token = ring.encrypt(SECRET)
    assert SECRET not in token and SECRET.removeprefix("whsec_") not in token
    assert ring.decrypt(token) == SECRET
    assert ring.encrypt(SECRET) != token  # a fresh IV each time: equal secrets do not look equal when stored


def test_after_a_rotation_the_old_key_still_decrypts_and_reencrypt_moves_to_the_new_one():
    old_token = KeyRing.parse(OLD).encrypt(SECRET)
    rotating = KeyRing.parse(f"{NEW}, {OLD}")
    assert rotating.decrypt(old_token) == SECRET
    assert not rotating.is_current(old_token)
    assert rotating.is_current(rotating.encrypt(SECRET))  # the first key encrypts

    moved = rotating.reencrypt(old_token)
    assert rotating.is_current(moved) and KeyRing.parse(NEW).decrypt(moved) == SECRET
    with pytest.raises(UndecryptableSecret):
        KeyRing.parse(OLD).decrypt(moved)  # once moved, the old key can be dropped


def test_a_wrong_key_fails_clearly_and_says_nothing_of_key_or_token():
    token = KeyRing.parse(OLD).encrypt(SECRET)
    with pytest.raises(UndecryptableSecret) as caught:
        KeyRing.parse(NEW).decrypt(token)
    assert str(caught.value) == "no configured key decrypts this secret"
    with pytest.raises(UndecryptableSecret):
        KeyRing.parse(NEW).reencrypt(token)
    with pytest.raises(UndecryptableSecret):
        KeyRing.parse(NEW).decrypt(token[:-4] + "AAA=")  # altered: the HMAC no longer matches


@pytest.mark.parametrize("value", [
    "not-a-key",
    NEW[:-2] + "!=",  # right length, one character outside the alphabet (Fernet itself would skip it)
    f"{NEW},{OLD[:20]}",
    f"{NEW},,{OLD}",
    f"{NEW},",
])
def test_a_malformed_secrets_key_is_one_line_naming_the_variable_never_the_key(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_SECRETS_KEY: ") as caught:
        _settings(tmp_path, SCHULDENLAB_SECRETS_KEY=value).secrets_key_ring(create=True)
    message = str(caught.value)
    assert "\n" not in message and NEW not in message and OLD[:20] not in message
    assert not (tmp_path / "secrets.key").exists()  # a configured key, even a bad one, is not replaced by a file


def test_without_the_variable_a_key_is_generated_once_into_the_state_directory_readable_by_its_owner_only(tmp_path):
    settings = _settings(tmp_path)
    with pytest.raises(ConfigError, match="SCHULDENLAB_SECRETS_KEY is not set"):
        settings.secrets_key_ring()
    token = settings.secrets_key_ring(create=True).encrypt(SECRET)
    path = tmp_path / "secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.secrets_key_ring(create=True).decrypt(token) == SECRET  # the same key, not a new one
    assert _settings(tmp_path).secrets_key_ring().decrypt(token) == SECRET


def test_a_configured_key_wins_over_the_state_directory_and_a_bad_key_file_is_named(tmp_path):
    token = _settings(tmp_path).secrets_key_ring(create=True).encrypt(SECRET)
    with pytest.raises(UndecryptableSecret):
        _settings(tmp_path, SCHULDENLAB_SECRETS_KEY=NEW).secrets_key_ring().decrypt(token)
    (tmp_path / "secrets.key").write_text("garbage\n")
    with pytest.raises(ConfigError, match=r"secrets\.key \(the key used while SCHULDENLAB_SECRETS_KEY is unset\)"):
        _settings(tmp_path).secrets_key_ring()


def test_neither_the_settings_nor_the_ring_show_a_key():
    settings = Settings.from_env({"SCHULDENLAB_SECRETS_KEY": f"{NEW},{OLD}"})
    assert NEW not in repr(settings) and OLD not in repr(settings)
    assert repr(settings.secrets_key_ring()) == "KeyRing(2 keys)"


def test_a_malformed_key_stops_the_notifications_service_when_it_is_built(tmp_path):
    env = {"SCHULDENLAB_DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "k:9092",
           "SCHULDENLAB_JWT_SECRET": "x" * 40, "SCHULDENLAB_SECRETS_KEY": "changeme"}
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_SECRETS_KEY: the key is not a Fernet key"):
        create_app(definition(), _settings(tmp_path, **env))
