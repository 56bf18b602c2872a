"""The Kafka runner: a real KRaft cluster on 127.0.0.1, made from a KafkaPlan (todo_cloud.runtime.kafka_plan).

What it does with the plan, as Strimzi would on a cluster:

- a CA made for the run signs every node's certificate (SAN 127.0.0.1 and localhost) and the harness's client
  certificate; keystores and truststores are PEM files;
- each node gets Strimzi's two internal listeners, `CONTROLPLANE-9090` (KRaft) and `REPLICATION-9091`
  (inter-broker and the operators), both mutual TLS with the node's principal as a super user, plus every
  listener of the Kafka CR (`PLAIN-9092`, `TLS-9093`, ...) with its tls and authentication; ports are chosen at
  start; the authorizer is the plan's (StandardAuthorizer for `simple`);
- storage is formatted with `kafka-storage format` (one cluster id), the nodes start in parallel, each bounded
  in time, with the pool's heap;
- through the Admin API, as the harness super user (standing in for Strimzi's user and topic operators, over
  the replication listener): SCRAM-SHA-512 credentials for every KafkaUser with a password made for the run,
  their ACLs, then the topics. Every topic is first validated by Kafka (`validate_only`), so that a setting
  Kafka refuses fails the run naming the KafkaTopic and the key, before anything is created;
- the broker settings of `spec.kafka.config` are checked against what the brokers report: a value Kafka
  refuses stops the node (the error names `Kafka/<name> spec.kafka.config.<key>`), and a key the broker does
  not know is an error too.

`secrets` holds what the cluster's Secrets would (Strimzi writes one per KafkaUser with `password` and
`sasl.jaas.config`, and `<cluster>-cluster-ca-cert` with `ca.crt`), so that a daprd harness resolves the
pub/sub component's secretKeyRefs as on the cluster; `address_map` maps the in-cluster bootstrap addresses to
the run's.

Usage:
    with start_cluster(kafka_plan.plan(docs), workdir) as cluster:
        producer = confluent_kafka.Producer(cluster.client_config("dapr-pubsub", "tls") | {"acks": "all"})
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import logging
import os
import re
import secrets
import shutil
import signal
import string
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from todo_cloud.processes import LOOPBACK, StartFailed, Supervisor, log_tail, signal_group
from todo_cloud.run import TimeoutExpired, run
from todo_cloud.runtime import kafka_jars
from todo_cloud.runtime.kafka_client import client_settings, jaas_config
from todo_cloud.runtime.kafka_plan import SCRAM_MECHANISM, Acl, KafkaPlan, Need, Node, Topic, User

# Principals of the run's certificates. The nodes' is Strimzi's broker principal; the harness's stands in for
# Strimzi's operators (super users on a Strimzi cluster too).
NODE_SUBJECT = "CN={cluster}-kafka,O=io.strimzi"
HARNESS_SUBJECT = "CN=todo-cloud-harness,O=io.strimzi"
CONTROLPLANE = "CONTROLPLANE-9090"
REPLICATION = "REPLICATION-9091"
# Broker settings of the harness itself (not of the rendered objects): the consumer group join is not
# delayed, so that consumers of a short test start at once (Strimzi keeps Kafka's default, 3 s).
HARNESS_CONFIG = {"group.initial.rebalance.delay.ms": "0"}
# JVM flags of the harness: quick start-up on a small machine (client compiler only, one GC thread).
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Djava.awt.headless=true")
# librdkafka's own log lines (connection failures of stopped nodes, refused logins) go to Python logging.
CLIENT_LOG = logging.getLogger("todo_cloud.runtime.kafka.client")
SCRAM_ITERATIONS = 4096  # Strimzi's User Operator uses 4096 iterations
_LOG4J = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.authorizer.logger
        level: INFO
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""
_STARTED = "Kafka Server started"
_INVALID_VALUE = re.compile(r"Invalid value (.*?) for configuration (\S+?):? (.*)")
_ACL_OPS = {"Read": AclOperation.READ, "Write": AclOperation.WRITE, "Create": AclOperation.CREATE,
            "Delete": AclOperation.DELETE, "Alter": AclOperation.ALTER, "Describe": AclOperation.DESCRIBE,
            "ClusterAction": AclOperation.CLUSTER_ACTION, "AlterConfigs": AclOperation.ALTER_CONFIGS,
            "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS, "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
            "All": AclOperation.ALL}
_ACL_RESOURCES = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP, "cluster": ResourceType.BROKER,
                  "transactionalId": ResourceType.TRANSACTIONAL_ID}
_PATTERNS = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}


@dataclass(frozen=True)
class Record:
    """A record of a topic as the broker holds it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


class KafkaRejected(RuntimeError):
    """Kafka refused a setting of the rendered objects; the message names the object (kind/name) and the key."""


class AccessDenied(RuntimeError):
    """A workload's needed access is refused by the broker; the message names the workload, user and resource."""


# -- certificates --------------------------------------------------------------------------------------------


def _name(subject: str) -> x509.Name:
    """`CN=a,O=b` as a certificate subject whose RFC 4514 string (Kafka's principal name) reads the same."""
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME}
    rdns = [x509.NameAttribute(oids[k], v) for k, v in (p.split("=", 1) for p in subject.split(","))]
    return x509.Name(list(reversed(rdns)))


@dataclass(frozen=True)
class CertificateAuthority:
    """The run's CA (EC P-256), valid for a day."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, subject: str) -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(subject))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, subject: str, *, server: bool) -> tuple[str, str]:
        """(certificate PEM, PKCS#8 key PEM) for `subject`; server certificates name 127.0.0.1 and localhost."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return (cert.public_bytes(serialization.Encoding.PEM).decode(),
                key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode())


def _password() -> str:
    """A password as Strimzi's User Operator makes them: 32 letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


# -- configuration (pure) ------------------------------------------------------------------------------------


def node_properties(plan: KafkaPlan, node: Node, ports: Mapping[int, Mapping[str, int]], files: Mapping[str, Path],
                    data: Path) -> dict[str, str]:
    """server.properties of one node: the rendered settings over the harness's, then what the harness owns."""
    listeners = [CONTROLPLANE, REPLICATION, *(sl.kafka_name for sl in plan.listeners)]
    own = ports[node.id]
    broker_listeners = [REPLICATION, *(sl.kafka_name for sl in plan.listeners)]
    props: dict[str, str] = {**HARNESS_CONFIG, **plan.config}
    props.update({
        "node.id": str(node.id),
        "process.roles": node.process_roles,
        "controller.quorum.voters": ",".join(f"{n.id}@{LOOPBACK}:{ports[n.id][CONTROLPLANE]}"
                                             for n in plan.controllers),
        "controller.listener.names": CONTROLPLANE,
        "inter.broker.listener.name": REPLICATION,
        "listener.security.protocol.map": ",".join(
            [f"{CONTROLPLANE}:SSL", f"{REPLICATION}:SSL",
             *(f"{sl.kafka_name}:{sl.security_protocol}" for sl in plan.listeners)]),
        "log.dirs": str(data),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(files[f"node-{node.id}"]),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files["ca"]),
        "ssl.endpoint.identification.algorithm": "",
        "super.users": ";".join(["User:" + NODE_SUBJECT.format(cluster=plan.cluster), "User:" + HARNESS_SUBJECT,
                                 *plan.super_users]),
    })
    roles = [r for r in ("controller", "broker") if r in node.roles]
    props["listeners"] = ",".join(f"{name}://{LOOPBACK}:{own[name]}" for name in listeners
                                  if name != CONTROLPLANE or "controller" in roles)
    if "broker" in roles:
        props["advertised.listeners"] = ",".join(f"{name}://{LOOPBACK}:{own[name]}" for name in broker_listeners)
    else:
        props["listeners"] = f"{CONTROLPLANE}://{LOOPBACK}:{own[CONTROLPLANE]}"
    for name in (CONTROLPLANE, REPLICATION):
        props[f"listener.name.{name.lower()}.ssl.client.auth"] = "required"
    for sl in plan.listeners:
        prefix = f"listener.name.{sl.kafka_name.lower()}"
        props[f"{prefix}.ssl.client.auth"] = "required" if sl.authentication == "tls" else "none"
        if sl.authentication == "scram-sha-512":
            props[f"{prefix}.sasl.enabled.mechanisms"] = SCRAM_MECHANISM
            props[f"{prefix}.scram-sha-512.sasl.jaas.config"] = \
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    if plan.authorizer:
        props["authorizer.class.name"] = plan.authorizer
    return props


def _properties_text(props: Mapping[str, str]) -> str:
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")
    return "".join(f"{esc(k)}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in sorted(props.items()))


def java() -> str:
    """The `java` the broker runs on (JAVA_HOME, else PATH), checked against versions.toml [kafka] java_min."""
    home = os.environ.get("JAVA_HOME")
    binary = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not binary or not Path(binary).exists():
        raise StartFailed("java is not installed: the Kafka broker needs Java "
                          f"{kafka_jars.settings()['java_min']}+ (Debian: apt-get install openjdk-17-jre-headless)")
    out = run([binary, "-version"], check=False, timeout=60).stderr
    m = re.search(r'version "(\d+)', out)
    if not m or int(m.group(1)) < int(kafka_jars.settings()["java_min"]):
        raise StartFailed(f"{binary} is {out.splitlines()[0] if out else 'unknown'}; the Kafka broker needs Java "
                          f"{kafka_jars.settings()['java_min']} or newer (set JAVA_HOME)")
    return binary


# -- the running cluster -------------------------------------------------------------------------------------


@dataclass
class KafkaCluster:
    """A running cluster of the plan: its ports, credentials and Secrets; nodes can be stopped and restarted."""

    plan: KafkaPlan
    sup: Supervisor
    workdir: Path
    classpath: list[Path]
    java: str
    ports: dict[int, dict[str, int]]
    files: dict[str, Path]
    ca: CertificateAuthority
    passwords: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _admin: AdminClient | None = None

    # -- addresses and clients --

    def bootstrap(self, listener: str) -> str:
        """`host:port,...` of a listener of the Kafka CR (by its name in the CR) over the running brokers."""
        name = self.plan.listener(listener).kafka_name
        return ",".join(f"{LOOPBACK}:{self.ports[n.id][name]}" for n in self.plan.brokers if self.running(n.id))

    @property
    def address_map(self) -> dict[str, str]:
        """In-cluster bootstrap addresses (`<cluster>-kafka-bootstrap[.<ns>.svc[.cluster.local]]:<port>`) ->
        this run's `127.0.0.1:<port>,...` of the same listener."""
        out: dict[str, str] = {}
        svc = self.plan.bootstrap_service
        for sl in self.plan.listeners:
            for host in (svc, f"{svc}.{self.plan.namespace}", f"{svc}.{self.plan.namespace}.svc",
                         f"{svc}.{self.plan.namespace}.svc.cluster.local"):
                out[f"{host}:{sl.port}"] = self.bootstrap(sl.name)
        return out

    def client_config(self, user: str | None, listener: str, *, password: str | None = None) -> dict[str, Any]:
        """librdkafka settings of a client of `listener` authenticating as KafkaUser `user` (None: anonymous),
        from the run's Secrets as Strimzi writes them (todo_cloud.runtime.kafka_client)."""
        settings = client_settings(self.plan, listener, user, self.secrets, self.bootstrap(listener),
                                   password=password)
        return {**settings.librdkafka(), "logger": CLIENT_LOG, "socket.timeout.ms": 10000}

    def admin(self) -> AdminClient:
        """An Admin client of the harness super user (mutual TLS on the replication listener)."""
        if self._admin is None:
            self._admin = AdminClient(self._harness_config())
        return self._admin

    def _harness_config(self) -> dict[str, Any]:
        servers = ",".join(f"{LOOPBACK}:{self.ports[n.id][REPLICATION]}" for n in self.plan.brokers)
        return {"bootstrap.servers": servers, "logger": CLIENT_LOG, "security.protocol": "SSL",
                "ssl.ca.location": str(self.files["ca"]),
                "ssl.certificate.location": str(self.files["harness.crt"]),
                "ssl.key.location": str(self.files["harness.key"])}

    def read_topic(self, topic: str, *, timeout: float = 30) -> list[Record]:
        """Every record `topic` holds now (up to each partition's high watermark), in offset order per
        partition, read as the harness super user without a consumer group (nothing is committed)."""
        consumer = Consumer({**self._harness_config(), "group.id": "todo-cloud-harness-reader",
                             "enable.auto.commit": False, "enable.partition.eof": False})
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
            pending = {p for p, end in ends.items() if end > 0}
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
            out: list[Record] = []
            deadline = time.monotonic() + timeout
            while pending:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading {topic}: partitions {sorted(pending)} not read to their end "
                                       f"({ends}) within {timeout:.0f} s")
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                out.append(Record(topic, msg.partition(), msg.offset(), msg.key(), msg.value(),
                                  tuple(msg.headers() or ())))
                if msg.offset() + 1 >= ends[msg.partition()]:
                    pending.discard(msg.partition())
            return sorted(out, key=lambda r: (r.partition, r.offset))
        finally:
            consumer.close()

    # -- nodes --

    def node_name(self, node_id: int) -> str:
        return f"kafka-{node_id}"

    def running(self, node_id: int) -> bool:
        return self.sup.alive(self.node_name(node_id))

    def log(self, node_id: int) -> Path:
        return self.sup.log(self.node_name(node_id))

    def start_node(self, node_id: int, *, timeout: float = 90) -> None:
        """Start (or restart) one node and wait until it reports itself started."""
        self.wait_for_node(node_id, self.launch_node(node_id), timeout=timeout)

    def launch_node(self, node_id: int) -> int:
        """Start one node's process and return the offset of its log where this start begins. Processes die
        with the thread that starts them (processes.Supervisor): launch from a thread that outlives the run."""
        log = self.log(node_id)
        offset = log.stat().st_size if log.exists() else 0
        node = next(n for n in self.plan.nodes if n.id == node_id)
        self.sup.start(self.node_name(node_id), [
            self.java, f"-Xms{node.heap[0]}", f"-Xmx{node.heap[1]}", *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self.files['log4j']}", "-cp", ":".join(map(str, self.classpath)),
            "kafka.Kafka", self.files[f"props-{node_id}"]])
        return offset

    def wait_for_node(self, node_id: int, offset: int, *, timeout: float) -> None:
        log = self.log(node_id)
        try:
            self.sup.wait_for(self.node_name(node_id), lambda: _STARTED in log.read_text(errors="replace")[offset:],
                              timeout=timeout, what=f"Kafka node {node_id} to start", interval=0.25)
        except StartFailed as exc:
            raise self._config_error(log) or exc from None

    def stop_node(self, node_id: int) -> None:
        """Stop one node (SIGTERM: a controlled shutdown, as Kubernetes stops a pod)."""
        self.sup.stop(self.node_name(node_id))

    def _config_error(self, log: Path) -> KafkaRejected | None:
        """The rendered broker setting that Kafka refused, from a node's or the format tool's log."""
        text = log.read_text(errors="replace") if log.exists() else ""
        m = _INVALID_VALUE.search(text)
        if not m:
            return None
        key = m.group(2)
        where = f"Kafka/{self.plan.cluster} spec.kafka.config.{key}" if key in self.plan.config else \
            f"the harness's broker setting {key}"
        return KafkaRejected(f"Kafka refused {where}: {m.group(0).strip()} (log: {log})")

    # -- objects through the Admin API --

    def apply_users(self, users: Sequence[User]) -> None:
        """Credentials and ACLs of `users`, as the User Operator reconciles them: each user's ACLs replaced."""
        admin = self.admin()
        scram = [u for u in users if u.authentication == "scram-sha-512"]
        for u in scram:
            self.passwords.setdefault(u.name, _password())
            self.secrets[u.name] = {"password": self.passwords[u.name],
                                    "sasl.jaas.config": jaas_config(u.name, self.passwords[u.name])}
        if scram:
            info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
            upserts = [UserScramCredentialUpsertion(u.name, info, self.passwords[u.name].encode()) for u in scram]
            for name, fut in admin.alter_user_scram_credentials(upserts).items():
                _result(fut, f"KafkaUser/{name}: SCRAM-SHA-512 credentials")
        for u in users:
            if u.authentication == "tls":
                self._issue_user_certificate(u)
            old = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, u.principal, None,
                                   AclOperation.ANY, AclPermissionType.ANY)
            for fut in admin.delete_acls([old]).values():
                _result(fut, f"{u.object}: deleting its old ACLs")
            bindings = [(i, AclBinding(_ACL_RESOURCES[a.resource_type], a.name, _PATTERNS[a.pattern_type],
                                       u.principal, a.host, _ACL_OPS[op],
                                       AclPermissionType.ALLOW if a.permission == "allow" else AclPermissionType.DENY))
                        for i, a in enumerate(u.acls) for op in a.operations]
            if bindings:
                results = admin.create_acls([b for _, b in bindings])
                for i, binding in bindings:
                    _result(results[binding], f"{u.object} spec.authorization.acls[{i}]")

    def _issue_user_certificate(self, user: User) -> None:
        cert, key = self.ca.issue(f"CN={user.name}", server=False)
        for suffix, text in (("crt", cert), ("key", key)):
            path = self.workdir / "tls" / f"user-{user.name}.{suffix}"
            path.write_text(text)
            path.chmod(0o600)
            self.files[f"user-{user.name}.{suffix}"] = path
        self.secrets[user.name] = {"ca.crt": self.ca.pem, "user.crt": cert, "user.key": key}

    def validate_topics(self, topics: Sequence[Topic]) -> None:
        """Ask Kafka to validate `topics` without creating them; KafkaRejected names each refused object and, for a
        refused setting, each key Kafka refuses (tried one by one)."""
        problems = []
        for topic in topics:
            error = self._create([topic], validate_only=True)[topic.name]
            if error is None:
                continue
            if error.code() != KafkaError.INVALID_CONFIG:
                problems.append(f"{topic.object}: {error.str()}")
                continue
            refused = {k: self._create([_only(topic, k)], validate_only=True)[topic.name] for k in topic.config}
            named = [f"spec.config.{k}={topic.config[k]!r}: {e.str()}" for k, e in refused.items() if e is not None]
            problems.append(f"{topic.object} " + ("; ".join(named) if named else f"spec.config: {error.str()}"))
        if problems:
            raise KafkaRejected("Kafka refused " + "; ".join(problems))

    def apply_topics(self, topics: Sequence[Topic]) -> None:
        """Create `topics` once Kafka has accepted every one of them (nothing is created when one is refused)."""
        self.validate_topics(topics)
        errors = self._create(topics, validate_only=False)
        bad = {name: e for name, e in errors.items() if e is not None}
        if bad:
            raise KafkaRejected("Kafka refused " + "; ".join(f"topic {n}: {e.str()}" for n, e in bad.items()))
        self.wait_for_leaders([t.name for t in topics])

    def _create(self, topics: Sequence[Topic], *, validate_only: bool) -> dict[str, KafkaError | None]:
        new = [NewTopic(t.name, t.partitions, t.replicas, config=dict(t.config)) for t in topics]
        out: dict[str, KafkaError | None] = {}
        for name, fut in self.admin().create_topics(new, validate_only=validate_only, request_timeout=30).items():
            try:
                fut.result(timeout=60)
                out[name] = None
            except KafkaException as exc:
                out[name] = exc.args[0]
        return out

    def describe_topics(self, names: Sequence[str]) -> dict[str, Any]:
        """Kafka's TopicDescription of each topic (partitions with leader, replicas and ISR)."""
        futures = self.admin().describe_topics(TopicCollection(list(names)), request_timeout=20)
        return {name: fut.result(timeout=30) for name, fut in futures.items()}

    def in_sync_replicas(self, topic: str) -> dict[int, set[int]]:
        """Partition -> in-sync replica ids of `topic`, from the Metadata API (any live broker answers it, even
        while the controller quorum is lost)."""
        metadata = self.admin().list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        return {pid: set(p.isrs) for pid, p in metadata.partitions.items()}

    def wait_for_leaders(self, names: Sequence[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                described = self.describe_topics(names)
                if all(p.leader is not None and p.leader.id >= 0 for d in described.values() for p in d.partitions):
                    return
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                raise StartFailed(f"timed out after {timeout:.0f} s waiting for leaders of {', '.join(names)}")
            time.sleep(0.2)

    def topic_configs(self, name: str) -> dict[str, Any]:
        """Kafka's configuration of a topic: key -> ConfigEntry (value, source)."""
        futures = self.admin().describe_configs([ConfigResource("TOPIC", name)], request_timeout=20)
        return next(iter(futures.values())).result(timeout=30)

    def broker_configs(self, node_id: int) -> dict[str, Any]:
        futures = self.admin().describe_configs([ConfigResource("BROKER", str(node_id))], request_timeout=20)
        return next(iter(futures.values())).result(timeout=30)

    def check_broker_config(self) -> None:
        """Every key of spec.kafka.config is a setting the brokers know and report with the rendered value."""
        problems = []
        for node in self.plan.brokers:
            reported = self.broker_configs(node.id)
            for key, value in self.plan.config.items():
                # Kafka reports a setting it does not know as a hidden (sensitive) one without value; none of
                # the settings Strimzi lets through spec.kafka.config is a password.
                if key not in reported or reported[key].value is None:
                    problems.append(f"spec.kafka.config.{key}: Kafka {self.plan.version} has no such broker "
                                    f"setting (broker {node.id} does not report it)")
                elif reported[key].value != value:
                    problems.append(f"spec.kafka.config.{key}: broker {node.id} runs with "
                                    f"{reported[key].value!r}, not {value!r}")
            if problems:
                break
        if problems:
            raise KafkaRejected(f"Kafka did not take Kafka/{self.plan.cluster} " + "; ".join(problems))

    def check_access(self, needs: Sequence[Need], listener: str, *, timeout: float = 20) -> None:
        """Probe the broker for every workload need (kafka_plan.Need): Write by producing a record with acks=all;
        Read and group access by the ACLs Kafka reports. AccessDenied names each need the broker refuses."""
        refused = []
        for need in needs:
            if need.operation == "Write" and need.resource_type == "topic":
                error = produce(self.client_config(need.user, listener), need.name, b"access-probe",
                                timeout=timeout)
                if error is not None:
                    refused.append(f"{need}: Kafka answered {error.name()}")
            elif not self._acl_allows(need):
                refused.append(f"{need}: no ACL of the broker allows it")
        if refused:
            raise AccessDenied("the broker refuses what workloads need: " + "; ".join(refused))

    def _acl_allows(self, need: Need) -> bool:
        principal = f"User:{need.user}"
        flt = AclBindingFilter(_ACL_RESOURCES[need.resource_type], None, ResourcePatternType.ANY, principal, None,
                               AclOperation.ANY, AclPermissionType.ANY)
        bindings = self.admin().describe_acls(flt, request_timeout=20).result(timeout=30)
        user = User("", need.user, "scram-sha-512", tuple(
            Acl(need.resource_type, b.name, "prefix" if b.resource_pattern_type == ResourcePatternType.PREFIXED
                else "literal", (next(k for k, v in _ACL_OPS.items() if v == b.operation),), b.host,
                "allow" if b.permission_type == AclPermissionType.ALLOW else "deny") for b in bindings))
        return user.allows(need.operation, need.resource_type, need.name)

    def close(self, grace: float = 1) -> None:
        """Stop every node at once (SIGTERM to all, so that no node waits on a quorum already gone; the data is
        thrown away, so a node still shutting down after `grace` is killed), then the rest."""
        self._admin = None
        running = [self.sup.children[self.node_name(n.id)] for n in self.plan.nodes if self.running(n.id)]
        for proc in running:
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            with contextlib.suppress(TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            signal_group(proc.pid, signal.SIGKILL)
        self.sup.close()


def _only(topic: Topic, key: str) -> Topic:
    return Topic(topic.object, topic.name, topic.partitions, topic.replicas, {key: topic.config[key]})


def _result(fut: Any, what: str) -> Any:
    try:
        return fut.result(timeout=60)
    except KafkaException as exc:
        raise KafkaRejected(f"Kafka refused {what}: {exc.args[0].str()}") from None


def produce(config: Mapping[str, Any], topic: str, value: bytes, *, key: bytes | None = None,
            partition: int | None = None, timeout: float = 20, retries: int = 1_000_000) -> KafkaError | None:
    """Produce one record with acks=all; None when every in-sync replica has it, else Kafka's error (with
    `retries=0`, the broker's first answer rather than a time-out after retrying it)."""
    results: list[KafkaError | None] = []
    producer = Producer({**config, "acks": "all", "message.timeout.ms": int(timeout * 1000),
                         "enable.idempotence": False, "retries": retries, "retry.backoff.ms": 200})
    kwargs: dict[str, Any] = {"key": key, "on_delivery": lambda err, _msg: results.append(err)}
    if partition is not None:
        kwargs["partition"] = partition
    producer.produce(topic, value, **kwargs)
    producer.flush(timeout + 5)
    if not results:
        return KafkaError(KafkaError._MSG_TIMED_OUT)
    return results[0]


# -- start ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def start_cluster(plan: KafkaPlan, workdir: Path, *, timeout: float = 120) -> Iterator[KafkaCluster]:
    """Run `plan` under `workdir` (logs, data, certificates); everything is stopped when the block ends."""
    t0 = time.monotonic()
    jar_version = kafka_jars.read_lock().kafka_version
    if plan.version != jar_version:
        raise KafkaRejected(f"Kafka/{plan.cluster} spec.kafka.version is {plan.version}, but the harness's jars "
                            f"are Kafka {jar_version} (tools/kafka/jars.lock)")
    classpath = kafka_jars.ensure(plan.version)
    sup = Supervisor(workdir)
    cluster: KafkaCluster | None = None
    try:
        cluster = _prepare(plan, workdir, sup, classpath, java())
        cluster.timings["prepare"] = time.monotonic() - t0
        _format(cluster, timeout)
        cluster.timings["format"] = time.monotonic() - t0
        offsets = {n.id: cluster.launch_node(n.id) for n in plan.nodes}
        for n in plan.nodes:
            cluster.wait_for_node(n.id, offsets[n.id], timeout=timeout)
        cluster.timings["nodes"] = time.monotonic() - t0
        _wait_for_brokers(cluster, timeout)
        cluster.check_broker_config()
        cluster.apply_users(plan.users)
        cluster.apply_topics(plan.topics)
        cluster.timings["ready"] = time.monotonic() - t0
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()
        sup.close()


def _prepare(plan: KafkaPlan, workdir: Path, sup: Supervisor, classpath: list[Path], java_bin: str) -> KafkaCluster:
    tls = workdir / "tls"
    tls.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority.create(f"CN=cluster-ca {uuid.uuid4().hex[:8]},O=io.strimzi")
    files: dict[str, Path] = {"ca": tls / "ca.crt", "log4j": workdir / "log4j2.yaml"}
    files["ca"].write_text(ca.pem)
    files["log4j"].write_text(_LOG4J)
    for n in plan.nodes:
        cert, key = ca.issue(NODE_SUBJECT.format(cluster=plan.cluster), server=True)
        files[f"node-{n.id}"] = tls / f"node-{n.id}.pem"
        files[f"node-{n.id}"].write_text(key + cert)
    cert, key = ca.issue(HARNESS_SUBJECT, server=False)
    files["harness.crt"], files["harness.key"] = tls / "harness.crt", tls / "harness.key"
    files["harness.crt"].write_text(cert)
    files["harness.key"].write_text(key)
    for f in tls.iterdir():
        f.chmod(0o600)
    names = [CONTROLPLANE, REPLICATION, *(sl.kafka_name for sl in plan.listeners)]
    ports = {n.id: {name: sup.free_port() for name in names} for n in plan.nodes}
    for n in plan.nodes:
        props = node_properties(plan, n, ports, files, workdir / f"data-{n.id}")
        files[f"props-{n.id}"] = workdir / f"node-{n.id}.properties"
        files[f"props-{n.id}"].write_text(_properties_text(props))
    cluster = KafkaCluster(plan, sup, workdir, classpath, java_bin, ports, files, ca)
    cluster.secrets[plan.cluster_ca_secret] = {"ca.crt": ca.pem}
    cluster.secrets[plan.clients_ca_secret] = {"ca.crt": ca.pem}
    return cluster


def _format(cluster: KafkaCluster, timeout: float) -> None:
    """`kafka-storage format` of every node's storage, in parallel, with one cluster id (given as
    `--cluster-id=<id>`: a random id may begin with `-`)."""
    cluster_id = kafka_cluster_id()
    names = []
    for n in cluster.plan.nodes:
        name = f"format-{n.id}"
        cluster.sup.start(name, [cluster.java, "-Xmx128m", *JVM_FLAGS,
                                 f"-Dlog4j2.configurationFile={cluster.files['log4j']}", "-cp",
                                 ":".join(map(str, cluster.classpath)), "kafka.tools.StorageTool", "format",
                                 f"--cluster-id={cluster_id}", "--config", cluster.files[f"props-{n.id}"]])
        names.append(name)
    for name in names:
        proc = cluster.sup.children[name]
        try:
            code = proc.wait(timeout=timeout)
        except TimeoutExpired:
            cluster.sup.stop(name)
            code = None
        if code != 0:
            log = cluster.sup.log(name)
            raise cluster._config_error(log) or StartFailed(
                f"kafka-storage format ({name}) {'timed out' if code is None else f'exited with code {code}'}; "
                f"last lines of {log}:\n{log_tail(log)}")


def kafka_cluster_id() -> str:
    """A random cluster id as `kafka-storage random-uuid` prints it (base64url of 16 bytes, no padding)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _wait_for_brokers(cluster: KafkaCluster, timeout: float) -> None:
    expected = {n.id for n in cluster.plan.brokers}
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(KafkaException):
            nodes = cluster.admin().describe_cluster(request_timeout=10).result(timeout=15).nodes
            if {n.id for n in nodes} >= expected:
                return
        for n in cluster.plan.nodes:
            cluster.sup.check_alive(cluster.node_name(n.id))
        if time.monotonic() > deadline:
            raise StartFailed(f"timed out after {timeout:.0f} s waiting for brokers {sorted(expected)} to register; "
                              f"last lines of {cluster.log(0)}:\n{log_tail(cluster.log(0))}")
        time.sleep(0.25)
