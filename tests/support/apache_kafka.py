"""A three-broker Apache Kafka (KRaft) cluster with SASL/SCRAM and ACLs, assembled from Maven Central for the tests.

`make kafka` (or the first use) resolves the jars named in tests/kafka/pom.xml into
~/.cache/schuldenlab/kafka-<version>/libs; no jar lives in the repository. Each node is a combined
broker and controller on loopback ports. Clients log in with SCRAM-SHA-512 on the BROKER listener;
the controllers talk among themselves with SASL/PLAIN on the CONTROLLER listener (KRaft cannot use
SCRAM there: the SCRAM credentials live in the metadata log the controllers serve). The
StandardAuthorizer refuses whatever no ACL allows; only the `admin` principal is a super user.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schuldenlab.processes import die_with_parent, free_port

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).resolve().parents[1] / "kafka" / "pom.xml"
HEAP = "-Xms192m -Xmx256m"  # three JVMs on a 2-core, shared machine: small and fixed
ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"




def cache_dir(version: str = KAFKA_VERSION) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "schuldenlab" / f"kafka-{version}"


def ensure_jars(version: str = KAFKA_VERSION) -> Path:
    """The directory of Kafka's jars, resolved with Maven on first use (about 10 s, 55 MB)."""
    libs = cache_dir(version) / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}", "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={libs}"],
        capture_output=True, text=True, timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"resolving Apache Kafka {version} with Maven failed:\n{result.stdout}\n{result.stderr}")
    marker.touch()
    return libs


def java_command(libs: Path, main: str, *args: str, heap: str = HEAP) -> list[str]:
    return ["java", *heap.split(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={libs.parent / 'log4j2.properties'}", "-cp", f"{libs}/*", main, *args]


LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


@dataclass
class Node:
    node_id: int
    broker_port: int
    controller_port: int
    tls_port: int
    directory: Path
    process: subprocess.Popen | None = None
    log: object = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.broker_port}"


@dataclass
class KafkaCluster:
    """Three combined broker+controller nodes; `users` maps each principal to its SCRAM password."""

    root: Path
    services: Iterable[str]
    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)
    libs: Path | None = None
    started_in: float = 0.0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.users = {ADMIN: secrets.token_urlsafe(18), **{s: secrets.token_urlsafe(18) for s in self.services}}
        ports = _distinct_ports(3 * self.size)
        self.nodes = [Node(i, *ports[3 * i - 3:3 * i], self.root / f"node-{i}") for i in range(1, self.size + 1)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes)

    @property
    def tls_bootstrap_servers(self) -> str:
        """The SASL_SSL listeners: certificates signed by `ca_file`, for 127.0.0.1 and localhost."""
        return ",".join(f"127.0.0.1:{node.tls_port}" for node in self.nodes)

    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "ca.pem"

    def client_env(self, user: str = ADMIN, prefix: str = "SCHULDENLAB_KAFKA_") -> dict[str, str]:
        """The platform's configuration variables for logging in as `user`."""
        return {f"{prefix}SECURITY_PROTOCOL": "SASL_PLAINTEXT", f"{prefix}SASL_MECHANISM": MECHANISM,
                f"{prefix}SASL_USERNAME": user, f"{prefix}SASL_PASSWORD": self.users[user]}

    def services_env(self) -> dict[str, str]:
        """Each service logged in as itself and nothing general: a service without its own login fails."""
        env = {"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "true",
               "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "6000", "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": "100"}
        for service in self.services:
            env.update(self.client_env(service, prefix=f"SCHULDENLAB_{service.upper()}_KAFKA_"))
        return env

    def platform_env(self, *, tls: bool = False) -> dict[str, str]:
        """Admin as the general login (operator commands, `up`'s topic check); each service its own user.

        With `tls`, everything goes over the SASL_SSL listeners, trusting the cluster's own CA.
        """
        env = {"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "true",
               **self.client_env(ADMIN)}
        if tls:
            env.update({"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": self.tls_bootstrap_servers,
                        "SCHULDENLAB_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                        "SCHULDENLAB_KAFKA_SSL_CAFILE": str(self.ca_file)})
        for service in self.services:
            prefix = f"SCHULDENLAB_{service.upper()}_KAFKA_"
            env.update({f"{prefix}SASL_USERNAME": service, f"{prefix}SASL_PASSWORD": self.users[service]})
        return env

    # -- configuration -------------------------------------------------------------------------------

    def _properties(self, node: Node) -> str:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        admin_password = self.users[ADMIN]
        plain = (f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{ADMIN}" '
                 f'password="{admin_password}" user_{ADMIN}="{admin_password}";')
        scram = (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
                 f'password="{admin_password}";')
        settings = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"BROKER://127.0.0.1:{node.broker_port},CONTROLLER://127.0.0.1:{node.controller_port},"
                         f"CLIENT_TLS://127.0.0.1:{node.tls_port}",
            "advertised.listeners": f"BROKER://127.0.0.1:{node.broker_port},CLIENT_TLS://127.0.0.1:{node.tls_port}",
            "listener.security.protocol.map": "BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,CLIENT_TLS:SASL_SSL",
            # Clients may also come over TLS (SASL_SSL): the broker's key and certificate chain in one PEM file.
            "listener.name.client_tls.sasl.enabled.mechanisms": MECHANISM,
            "listener.name.client_tls.scram-sha-512.sasl.jaas.config": scram,
            "listener.name.client_tls.ssl.keystore.type": "PEM",
            "listener.name.client_tls.ssl.keystore.location": str(self.root / "tls" / "broker.pem"),
            "inter.broker.listener.name": "BROKER",
            "controller.listener.names": "CONTROLLER",
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.broker.sasl.enabled.mechanisms": MECHANISM,
            "listener.name.broker.scram-sha-512.sasl.jaas.config": scram,
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN}",
            "log.dirs": str(node.directory / "data"),
            "num.partitions": 3,
            "default.replication.factor": 3,
            "min.insync.replicas": 2,
            "offsets.topic.replication.factor": 3,
            "offsets.topic.num.partitions": 6,
            "transaction.state.log.replication.factor": 3,
            "transaction.state.log.min.isr": 2,
            "share.coordinator.state.topic.replication.factor": 3,
            "share.coordinator.state.topic.min.isr": 2,
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": 0,
            # Small segments and a busy cleaner, so the compaction test sees the cleaner within seconds.
            "log.cleaner.backoff.ms": 500,
            "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024,
            "log.cleaner.threads": 1,
            "num.network.threads": 2,
            "num.io.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
            "background.threads": 2,
            "controller.quorum.election.timeout.ms": 1000,
            "controller.quorum.fetch.timeout.ms": 2000,
            "broker.heartbeat.interval.ms": 500,
            "broker.session.timeout.ms": 4000,
            "replica.lag.time.max.ms": 5000,
            "unclean.leader.election.enable": "false",
        }
        return "".join(f"{k}={v}\n" for k, v in settings.items())

    def _make_tls(self) -> None:
        """A CA of this cluster's own and one broker certificate (127.0.0.1, localhost) it signs, with openssl."""
        tls = self.root / "tls"
        tls.mkdir(exist_ok=True)

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], cwd=tls, check=True, capture_output=True, timeout=60)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=SchuldenlabNL test CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
                "-subj", "/CN=localhost")
        (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "broker.crt", "-days", "2", "-extfile", "san.ext")
        # Kafka's PEM keystore: the (unencrypted, PKCS#8) private key, then the certificate chain.
        (tls / "broker.pem").write_text((tls / "broker.key").read_text() + (tls / "broker.crt").read_text()
                                        + (tls / "ca.pem").read_text())
        for secret in ("ca.key", "broker.key", "broker.pem"):
            (tls / secret).chmod(0o600)

    def _format(self, libs: Path) -> None:
        cluster_id = _kafka_uuid()
        scram = [arg for user, password in self.users.items()
                 for arg in ("--add-scram", f"{MECHANISM}=[name={user},password={password}]")]
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            config = node.directory / "server.properties"
            config.write_text(self._properties(node))
            config.chmod(0o600)  # it holds the admin's password
            result = subprocess.run(
                java_command(libs, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config),
                             *scram, heap="-Xmx128m"),
                capture_output=True, text=True, timeout=120,
            )
            if result.returncode != 0:
                raise RuntimeError(f"formatting node {node.node_id} failed:\n{result.stdout}\n{result.stderr}")

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> KafkaCluster:
        began = time.monotonic()
        self.libs = ensure_jars()
        (self.libs.parent / "log4j2.properties").write_text(LOG4J2)
        self._make_tls()
        self._format(self.libs)
        for node in self.nodes:
            self.start_node(node.node_id)
        self.wait_until_healthy(timeout)
        self.started_in = time.monotonic() - began
        return self

    def start_node(self, node_id: int) -> None:
        node = self.nodes[node_id - 1]
        assert node.process is None or node.process.poll() is not None, f"node {node_id} is running"
        node.log = open(node.directory / "kafka.log", "ab")
        node.process = subprocess.Popen(
            java_command(self.libs, "kafka.Kafka", str(node.directory / "server.properties")),
            stdout=node.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Dies with the test process, so a crashed session leaves no JVM behind.
            preexec_fn=die_with_parent(signal.SIGKILL),
        )

    def kill_node(self, node_id: int) -> None:
        """SIGKILL: a broker that dies without a word."""
        self._end(self.nodes[node_id - 1], signal.SIGKILL)

    def stop_node(self, node_id: int, timeout: float = 60.0) -> None:
        """SIGTERM: a controlled shutdown, as in a rolling restart."""
        self._end(self.nodes[node_id - 1], signal.SIGTERM, timeout)

    def _end(self, node: Node, sig: int, timeout: float = 30.0) -> None:
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(sig)
            try:
                node.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
        if node.log is not None:
            node.log.close()
            node.log = None

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            self._end(node, signal.SIGTERM, timeout=30)

    def alive(self) -> list[int]:
        return [n.node_id for n in self.nodes if n.process is not None and n.process.poll() is None]

    def wait_until_healthy(self, timeout: float = 90.0) -> None:
        """Every running node accepts connections and the admin sees them all in the cluster metadata."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            while not _port_open(node.broker_port):
                if node.process.poll() is not None:
                    raise RuntimeError(f"node {node.node_id} exited:\n{self.log_tail(node.node_id)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {node.node_id} not listening within {timeout} s:\n"
                                       f"{self.log_tail(node.node_id)}")
                time.sleep(0.1)

    def log_tail(self, node_id: int, limit: int = 4000) -> str:
        path = self.nodes[node_id - 1].directory / "kafka.log"
        return path.read_text(errors="replace")[-limit:] if path.exists() else ""

    def tool(self, main: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """One of Kafka's own command-line tools, logged in as the admin."""
        config = self.root / "admin.properties"
        if not config.exists():
            password = self.users[ADMIN]
            config.write_text(
                f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism={MECHANISM}\n"
                f'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required '
                f'username="{ADMIN}" password="{password}";\n')
            config.chmod(0o600)
        return subprocess.run(
            java_command(self.libs, main, "--bootstrap-server", self.bootstrap_servers, "--command-config",
                         str(config), *args, heap="-Xmx128m"),
            capture_output=True, text=True, timeout=timeout,
        )


def _distinct_ports(count: int) -> list[int]:
    """Free ports, all different (one after another, the kernel may hand out the same port twice)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _kafka_uuid() -> str:
    """A cluster id in Kafka's form: 16 random bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def merged(*envs: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for env in envs:
        out.update(env)
    return out


# -- the platform on the cluster ----------------------------------------------------------------------

def admin_endpoint(cluster: KafkaCluster):
    """The cluster as the shared broker tests see it: logged in as the admin, idempotent producer on."""
    from tests.support.kafka import KafkaEndpoint

    env = {**cluster.client_env(ADMIN), "SCHULDENLAB_KAFKA_IDEMPOTENCE": "true",
           # Kafka refuses a session timeout under group.min.session.timeout.ms (6 s by default).
           "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "6000", "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": "100"}
    return KafkaEndpoint(cluster.bootstrap_servers, env, replication_factor=min(3, cluster.size))


def prepare_platform(cluster: KafkaCluster) -> None:
    """What an operator does once: the platform's topics, and each service's ACLs (`schuldenlab acls --apply`)."""
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "acls", "--apply"], capture_output=True, text=True,
                            env=merged(_clean_env(), endpoint_env(admin_endpoint(cluster))), timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"schuldenlab acls --apply failed:\n{result.stdout}\n{result.stderr}")


async def fresh_topics(cluster: KafkaCluster):
    """Delete every topic (and so the groups' offsets on them) and create the platform's anew: a clean slate."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import TopicAlreadyExistsError

    from schuldenlab.infrastructure import platform_topics
    from tests.support.kafka import create_topics, kafka_options

    endpoint = admin_endpoint(cluster)
    admin = AIOKafkaAdminClient(**kafka_options(endpoint))
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if not t.startswith("__")]
        if doomed:
            await admin.delete_topics(doomed, timeout_ms=30_000)
        deadline = time.monotonic() + 60
        while set(doomed) & set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics not deleted within 60 s: {doomed}")
            await asyncio.sleep(0.2)
        if doomed:
            # One broker no longer lists them; give the others a moment to apply the same metadata, or
            # a create right now could be answered "exists" (and the topic never come back).
            await asyncio.sleep(1.0)
    finally:
        await admin.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            await create_topics(endpoint, platform_topics())
            break
        except TopicAlreadyExistsError:  # still being deleted on some broker
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    await wait_for_topics(endpoint, {spec.name for spec in platform_topics()})
    return endpoint


async def wait_for_topics(endpoint, names: set[str], timeout: float = 60.0) -> None:
    """Until every broker's metadata has the topics with a leader for each partition."""
    from aiokafka import AIOKafkaConsumer

    from tests.support.kafka import kafka_options

    consumer = AIOKafkaConsumer(**kafka_options(endpoint), group_id=None)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while not names <= await consumer.topics():
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics missing after {timeout} s: {names - await consumer.topics()}")
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


def endpoint_env(endpoint) -> dict[str, str]:
    from tests.support.kafka import endpoint_env as env_of

    return env_of(endpoint)


def _clean_env() -> dict[str, str]:
    """This process's environment without any SCHULDENLAB_* of the developer's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}


if __name__ == "__main__":  # `make kafka`: fetch the jars ahead of the first test run
    print(f"Apache Kafka {KAFKA_VERSION}: {ensure_jars()}")
