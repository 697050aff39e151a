"""Configuration of a service and of the platform, read once from `SCHULDENLAB_*` environment variables."""

from __future__ import annotations

import math
import os
import secrets
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from servicekit.secrets import KeyRing, new_key

SERVICE_PORTS: dict[str, int] = {"catalogue": 8001, "assessment": 8002, "partnering": 8003, "notifications": 8004}

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names the variable."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def whole_number(name: str, raw: str | None, default: int, *, least: int, most: int, unit: str = "") -> int:
    """The one reading of a whole-number setting: unset or empty is `default`; anything but a whole number from
    `least` to `most` is a ConfigError naming the variable, so a service stops at its start with one line."""
    text = (raw or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18) or not least <= int(text) <= most:
        raise ConfigError(f"{name}={raw!r}: expected a whole number{unit and ' of ' + unit} from {least} to {most}")
    return int(text)


def decimal_number(name: str, raw: str | None, default: float, *, most: float, least: float = 0.0,
                   above: float | None = None, unit: str = "") -> float:
    """The one reading of a decimal setting (fractions let tests run with seconds where production has days):
    unset or empty is `default`; NaN, infinity and anything outside the bounds is a ConfigError naming it."""
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    low = value > above if above is not None else value >= least
    if not (math.isfinite(value) and low and value <= most):
        bound = f"above {above:g}" if above is not None else f"at least {least:g}"
        raise ConfigError(f"{name}={raw!r}: expected a number{unit and ' of ' + unit} {bound} and at most {most:g}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, *, least: int, most: int) -> int:
    return whole_number(name, env.get(name), default, least=least, most=most)


def _decimal(env: Mapping[str, str], name: str, default: float, *, most: float, above: float | None = None) -> float:
    return decimal_number(name, env.get(name), default, most=most, above=above)


def service_env(env: Mapping[str, str], service: str) -> tuple[dict[str, str], dict[str, str]]:
    """`env` with one service's own values in place: SCHULDENLAB_<SERVICE>_KAFKA_* and _DATABASE_URL win.

    Returns the resolved variables and, for each one taken from a per-service variable, that
    variable's name, so an error names what the operator actually wrote.
    """
    prefix = f"SCHULDENLAB_{service.upper()}_"
    resolved, sources = dict(env), {}
    for name, value in env.items():
        rest = name[len(prefix):] if name.startswith(prefix) else ""
        if rest.startswith("KAFKA_") or rest == "DATABASE_URL":
            resolved[f"SCHULDENLAB_{rest}"] = value
            sources[f"SCHULDENLAB_{rest}"] = name
    return resolved, sources


def _check_tls_files(files: Mapping[str, str | None], named: Callable[[str], str]) -> None:
    """Load the CA, certificate and key once now, so a wrong file is one line naming it, not a traceback later."""
    context = ssl.create_default_context()
    if files["SSL_CAFILE"]:
        try:
            context.load_verify_locations(cafile=files["SSL_CAFILE"])
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"{named('SCHULDENLAB_KAFKA_SSL_CAFILE')}={files['SSL_CAFILE']!r}: not a PEM CA "
                              f"certificate ({exc})") from None
    if files["SSL_CERTFILE"] and files["SSL_KEYFILE"]:
        try:  # the certificate alone first, so a failure below is the key's
            ssl.create_default_context().load_verify_locations(cafile=files["SSL_CERTFILE"])
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"{named('SCHULDENLAB_KAFKA_SSL_CERTFILE')}={files['SSL_CERTFILE']!r}: not a PEM "
                              f"certificate ({exc})") from None
        try:
            context.load_cert_chain(files["SSL_CERTFILE"], files["SSL_KEYFILE"])
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"{named('SCHULDENLAB_KAFKA_SSL_KEYFILE')}={files['SSL_KEYFILE']!r}: not the PEM "
                              f"private key of the certificate in SCHULDENLAB_KAFKA_SSL_CERTFILE ({exc})") from None


@dataclass(frozen=True)
class KafkaSecurity:
    """How Kafka clients authenticate and encrypt (SPEC 5.1); turned into client options by servicekit.kafka."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_env(cls, env: Mapping[str, str], sources: Mapping[str, str] | None = None) -> KafkaSecurity:
        sources = sources or {}

        def named(var: str) -> str:
            return sources.get(var, var)

        def get(suffix: str) -> str | None:
            return env.get(f"SCHULDENLAB_KAFKA_{suffix}") or None

        protocol = (get("SECURITY_PROTOCOL") or "PLAINTEXT").upper()
        if protocol not in SECURITY_PROTOCOLS:
            var = named("SCHULDENLAB_KAFKA_SECURITY_PROTOCOL")
            raise ConfigError(f"{var}={env.get('SCHULDENLAB_KAFKA_SECURITY_PROTOCOL')!r}: expected one of "
                              f"{', '.join(SECURITY_PROTOCOLS)}")
        mechanism = get("SASL_MECHANISM")
        username, password = get("SASL_USERNAME"), get("SASL_PASSWORD")
        if protocol.startswith("SASL_"):
            mechanism = (mechanism or "").upper()
            if mechanism not in SASL_MECHANISMS:
                var = named("SCHULDENLAB_KAFKA_SASL_MECHANISM")
                given = f"={get('SASL_MECHANISM')!r}" if get("SASL_MECHANISM") else " is not set"
                raise ConfigError(f"{var}{given}: SCHULDENLAB_KAFKA_SECURITY_PROTOCOL={protocol} needs one of "
                                  f"{', '.join(SASL_MECHANISMS)}")
            for suffix, value in (("SASL_USERNAME", username), ("SASL_PASSWORD", password)):
                if not value:
                    raise ConfigError(f"{named('SCHULDENLAB_KAFKA_' + suffix)} is not set: "
                                      f"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL={protocol} needs it")
        else:
            for suffix in ("SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD"):
                if get(suffix):
                    raise ConfigError(f"{named('SCHULDENLAB_KAFKA_' + suffix)} is set but "
                                      f"SCHULDENLAB_KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL "
                                      "(SASL_PLAINTEXT or SASL_SSL does)")
            mechanism = None
        files = {suffix: get(suffix) for suffix in ("SSL_CAFILE", "SSL_CERTFILE", "SSL_KEYFILE")}
        for suffix, path in files.items():
            var = named("SCHULDENLAB_KAFKA_" + suffix)
            if path and protocol not in ("SSL", "SASL_SSL"):
                raise ConfigError(f"{var} is set but SCHULDENLAB_KAFKA_SECURITY_PROTOCOL={protocol} does not use "
                                  "TLS (SSL or SASL_SSL does)")
            if path and not os.access(path, os.R_OK):
                raise ConfigError(f"{var}={path!r}: no readable file there")
        if bool(files["SSL_CERTFILE"]) != bool(files["SSL_KEYFILE"]):
            missing = "SSL_KEYFILE" if files["SSL_CERTFILE"] else "SSL_CERTFILE"
            raise ConfigError(f"{named('SCHULDENLAB_KAFKA_' + missing)} is not set: a client certificate "
                              "needs both SCHULDENLAB_KAFKA_SSL_CERTFILE and SCHULDENLAB_KAFKA_SSL_KEYFILE")
        _check_tls_files(files, named)
        return cls(protocol=protocol, sasl_mechanism=mechanism, sasl_username=username if mechanism else None,
                   sasl_password=password if mechanism else None, ssl_cafile=files["SSL_CAFILE"],
                   ssl_certfile=files["SSL_CERTFILE"], ssl_keyfile=files["SSL_KEYFILE"])


# RFC 7518 3.2: an HS256 key of fewer bytes than the hash output (32) is guessable faster than the hash is broken.
MIN_SIGNING_KEY_BYTES = 32
DEFAULT_TOKEN_MAX_TTL = 30 * 24 * 3600  # 30 days: the longest `schuldenlab token --ttl` issues unless configured


def _token_max_ttl(env: Mapping[str, str]) -> int:
    name = "SCHULDENLAB_TOKEN_MAX_TTL"
    return whole_number(name, env.get(name), DEFAULT_TOKEN_MAX_TTL, least=1, most=10 * 366 * 24 * 3600,
                        unit="seconds")


def _long_enough(key: str, source: str) -> str:
    """The key, or one line naming where it came from; never the key itself."""
    length = len(key.encode())
    if length < MIN_SIGNING_KEY_BYTES:
        raise ConfigError(f"{source} is {length} bytes: an HS256 signing key needs at least {MIN_SIGNING_KEY_BYTES} "
                          "random bytes (e.g. SCHULDENLAB_JWT_SECRET=$(openssl rand -base64 48))")
    return key


def _key_ring(text: str, source: str) -> KeyRing:
    try:
        return KeyRing.parse(text)
    except ValueError as exc:  # the message never holds the key
        raise ConfigError(f"{source}: {exc}") from None


@dataclass(frozen=True)
class Settings:
    """Everything a service process or the CLI needs to know; see the README's configuration table."""

    home: Path
    database_url: str | None = field(repr=False)  # may hold a password
    kafka_bootstrap_servers: str | None
    kafka_idempotence: bool = True
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    kafka_session_timeout_ms: int = 10_000
    kafka_fetch_max_wait_ms: int = 500
    jwt_secret: str | None = field(default=None, repr=False)
    secrets_key: str | None = field(default=None, repr=False)  # key ring for secrets at rest, newest key first
    token_max_ttl: int = DEFAULT_TOKEN_MAX_TTL
    bind_host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    outbox_poll_interval: float = 1.0
    consumer_max_attempts: int = 5
    consumer_backoff_initial: float = 0.2
    consumer_backoff_max: float = 5.0
    migrate_on_start: bool = True
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)  # every SCHULDENLAB_*, secrets too
    service: str | None = None  # whose per-service values (SCHULDENLAB_<SERVICE>_...) are in force

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, service: str | None = None) -> Settings:
        env = os.environ if env is None else env
        sources: dict[str, str] = {}
        if service is not None:
            env, sources = service_env(env, service)
        ports = dict(SERVICE_PORTS)
        for name in SERVICE_PORTS:
            variable = f"SCHULDENLAB_{name.upper()}_PORT"
            ports[name] = whole_number(variable, env.get(variable), ports[name], least=0, most=65_535)
        return cls(
            home=Path(env.get("SCHULDENLAB_HOME") or ".schuldenlab").resolve(),
            database_url=env.get("SCHULDENLAB_DATABASE_URL") or None,
            kafka_bootstrap_servers=env.get("SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS") or None,
            kafka_idempotence=_bool(env, "SCHULDENLAB_KAFKA_IDEMPOTENCE", True),
            kafka_security=KafkaSecurity.from_env(env, sources),
            kafka_session_timeout_ms=_whole(env, "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS", 10_000, least=1,
                                            most=3_600_000),
            kafka_fetch_max_wait_ms=_whole(env, "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS", 500, least=0, most=60_000),
            jwt_secret=env.get("SCHULDENLAB_JWT_SECRET") or None,
            secrets_key=env.get("SCHULDENLAB_SECRETS_KEY") or None,
            token_max_ttl=_token_max_ttl(env),
            bind_host=env.get("SCHULDENLAB_BIND_HOST") or "127.0.0.1",
            ports=ports,
            outbox_poll_interval=_decimal(env, "SCHULDENLAB_OUTBOX_POLL_INTERVAL", 1.0, above=0, most=3600),
            consumer_max_attempts=_whole(env, "SCHULDENLAB_CONSUMER_MAX_ATTEMPTS", 5, least=1, most=1_000_000),
            consumer_backoff_initial=_decimal(env, "SCHULDENLAB_CONSUMER_BACKOFF_INITIAL", 0.2, most=3600),
            consumer_backoff_max=_decimal(env, "SCHULDENLAB_CONSUMER_BACKOFF_MAX", 5.0, most=3600),
            migrate_on_start=_bool(env, "SCHULDENLAB_MIGRATE_ON_START", True),
            log_level=(env.get("SCHULDENLAB_LOG_LEVEL") or "INFO").upper(),
            extra={k: v for k, v in env.items() if k.startswith("SCHULDENLAB_")},
            service=service,
        )

    def for_service(self, service: str) -> Settings:
        """These settings with one service's own values (its Kafka principal, its database URL) in force."""
        if self.service == service:
            return self
        own = Settings.from_env(self.extra, service=service)
        return replace(self, service=service, database_url=own.database_url,
                       kafka_bootstrap_servers=own.kafka_bootstrap_servers, kafka_idempotence=own.kafka_idempotence,
                       kafka_security=own.kafka_security, kafka_session_timeout_ms=own.kafka_session_timeout_ms,
                       kafka_fetch_max_wait_ms=own.kafka_fetch_max_wait_ms)

    def variable(self, rest: str) -> str:
        """The variable an operator set for `rest` (KAFKA_SASL_PASSWORD, say): the service's own or the general."""
        if self.service:
            own = f"SCHULDENLAB_{self.service.upper()}_{rest}"
            if own in self.extra:
                return own
        return f"SCHULDENLAB_{rest}"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError("SCHULDENLAB_DATABASE_URL is not set (`schuldenlab up` sets it for its services)")
        return self.database_url

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise ConfigError(
                "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS is not set (`schuldenlab up` sets it for its services)"
            )
        return self.kafka_bootstrap_servers

    def signing_key(self, *, create: bool = False) -> str:
        """The HS256 key: SCHULDENLAB_JWT_SECRET, else the key kept in the state directory.

        Every signer and verifier (services, `up`, `token`, `demo`) gets the key here, so a key too short to
        be safe stops each of them with one line instead of letting tokens be forged.
        """
        if self.jwt_secret:
            return _long_enough(self.jwt_secret, "SCHULDENLAB_JWT_SECRET")
        path = self.home / "jwt.key"
        if path.exists():
            return _long_enough(path.read_text().strip(),
                                f"{path} (the key used while SCHULDENLAB_JWT_SECRET is unset)")
        if not create:
            raise ConfigError(f"SCHULDENLAB_JWT_SECRET is not set and {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Created with 0600 from the start so the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key

    def secrets_key_ring(self, *, create: bool = False) -> KeyRing:
        """The key ring for secrets kept at rest: SCHULDENLAB_SECRETS_KEY, else the key kept in the state directory.

        Like signing_key: the one place every user (the notifications service, `schuldenlab secrets`) gets it,
        so a malformed key is one line naming where it came from, never the key itself.
        """
        if self.secrets_key:
            return _key_ring(self.secrets_key, "SCHULDENLAB_SECRETS_KEY")
        path = self.home / "secrets.key"
        try:
            if path.exists():
                return _key_ring(path.read_text(), f"{path} (the key used while SCHULDENLAB_SECRETS_KEY is unset)")
            if not create:
                raise ConfigError(f"SCHULDENLAB_SECRETS_KEY is not set and {path} does not exist")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = new_key()
            # Created with 0600 from the start so the key is never readable by others, not even briefly.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
        except OSError as exc:
            raise ConfigError(f"SCHULDENLAB_SECRETS_KEY is not set and {path} cannot be used "
                              f"({exc.strerror or exc}): set SCHULDENLAB_SECRETS_KEY or SCHULDENLAB_HOME") from None
        return KeyRing([key])

    def setting(self, name: str, default: str | None = None) -> str | None:
        """A service-specific variable (e.g. SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS), read through the one loader."""
        return self.extra.get(name, default)

    def whole(self, name: str, default: int, *, least: int, most: int, unit: str = "") -> int:
        """A whole-number variable of a service or the runtime, read as `whole_number` reads every one."""
        return whole_number(name, self.setting(name), default, least=least, most=most, unit=unit)

    def decimal(self, name: str, default: float, *, most: float, least: float = 0.0, above: float | None = None,
                unit: str = "") -> float:
        """A decimal variable of a service or the runtime, read as `decimal_number` reads every one."""
        return decimal_number(name, self.setting(name), default, most=most, least=least, above=above, unit=unit)

    def url_of(self, service: str) -> str:
        return f"http://{self.bind_host}:{self.ports[service]}"
