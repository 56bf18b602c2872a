"""What a Kafka run on 127.0.0.1 is made of: a pure function of an environment's rendered objects.

`plan(docs)` reads the Strimzi custom resources the platform chart renders and returns what Strimzi would make
of them, in the terms the runner (todo_cloud.runtime.kafka) needs:

- the Kafka CR: its listeners (name, port, tls, authentication), the authorizer (`authorization: simple` is
  KRaft's StandardAuthorizer), `spec.kafka.config` as broker settings, `spec.kafka.version`;
- the KafkaNodePools: node ids (0.. over the pools in order, as Strimzi assigns them), `process.roles`, heap;
- the KafkaUsers: principals, SCRAM or TLS client authentication, ACLs (resource type, name, pattern type,
  operations, host, allow/deny);
- the KafkaTopics: name, partitions, replicas and every config key, as strings as Kafka receives them.

A run may have fewer nodes than the pools declare (`max_nodes`): replicas and the replication settings are then
capped to the brokers of the run, and every cap is reported (`KafkaPlan.caps`) so that tests can say it.
Nothing here starts anything; input Strimzi or the harness cannot honour raises PlanError naming the object
(kind/name) and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from todo_cloud.render import Manifest, find

AUTHORIZERS = {"simple": "org.apache.kafka.metadata.authorizer.StandardAuthorizer"}
AUTHENTICATIONS = ("scram-sha-512", "tls")
SCRAM_MECHANISM = "SCRAM-SHA-512"
# Broker settings that replicate data: capped to the brokers of a run that has fewer than the pools declare.
REPLICATION_FACTORS = ("default.replication.factor", "offsets.topic.replication.factor",
                       "transaction.state.log.replication.factor")
MIN_INSYNC = ("min.insync.replicas", "transaction.state.log.min.isr")
# Options of spec.kafka.config that Strimzi manages itself and ignores in the CR ("forbidden options" of the
# Kafka CR's config, Strimzi documentation), by prefix; the exceptions below are allowed.
STRIMZI_FORBIDDEN_PREFIXES = (
    "listeners", "advertised.", "broker.", "listener.", "host.name", "port", "inter.broker.listener.name", "sasl.",
    "ssl.", "security.", "password.", "log.dir", "zookeeper.connect", "zookeeper.set.acl", "zookeeper.ssl",
    "zookeeper.clientCnxnSocket", "authorizer.", "super.user", "cruise.control.metrics.topic",
    "cruise.control.metrics.reporter.bootstrap.servers", "node.id", "process.roles", "controller.",
    "metadata.log.dir", "zookeeper.metadata.migration.enable", "client.quota.callback.static.kafka.admin.",
    "client.quota.callback.static.produce", "client.quota.callback.static.fetch",
    "client.quota.callback.static.storage.per.volume.limit.min.available.",
    "client.quota.callback.static.excluded.principal.name.list")
STRIMZI_ALLOWED_EXCEPTIONS = (
    "zookeeper.connection.timeout.ms", "sasl.server.max.receive.size", "ssl.cipher.suites", "ssl.protocol",
    "ssl.enabled.protocols", "ssl.secure.random.implementation", "cruise.control.metrics.topic.num.partitions",
    "cruise.control.metrics.topic.replication.factor", "cruise.control.metrics.topic.retention.ms",
    "cruise.control.metrics.topic.auto.create.retries", "cruise.control.metrics.topic.auto.create.timeout.ms",
    "cruise.control.metrics.topic.min.insync.replicas", "controller.quorum.election.backoff.max.ms",
    "controller.quorum.election.timeout.ms", "controller.quorum.fetch.timeout.ms")
ACL_OPERATIONS = ("Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
                  "DescribeConfigs", "IdempotentWrite", "All")
ACL_RESOURCES = ("topic", "group", "cluster", "transactionalId")


class PlanError(ValueError):
    """Rendered objects that Strimzi or the harness cannot run; the message names the object and field."""


def kafka_value(value: Any) -> str:
    """A YAML scalar of a CR's config as Kafka reads it in a properties file (true/false, numbers, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(kafka_value(v) for v in value)
    return str(value)


def ref(doc: Manifest) -> str:
    """`Kind/name` of a rendered object, as error messages name it."""
    return f"{doc['kind']}/{doc['metadata']['name']}"


@dataclass(frozen=True)
class Listener:
    """A listener of the Kafka CR; the run serves it on a port chosen at start."""

    name: str
    port: int
    tls: bool
    # scram-sha-512, tls (client certificates) or None (anonymous).
    authentication: str | None

    @property
    def kafka_name(self) -> str:
        """Kafka's listener name, as Strimzi writes it (`TLS-9093`)."""
        return f"{self.name.upper()}-{self.port}"

    @property
    def security_protocol(self) -> str:
        sasl = self.authentication == "scram-sha-512"
        return {(True, True): "SASL_SSL", (True, False): "SSL", (False, True): "SASL_PLAINTEXT",
                (False, False): "PLAINTEXT"}[(self.tls, sasl)]


@dataclass(frozen=True)
class Node:
    """A KRaft node of a pool: its id, `process.roles` and heap (the pool's jvmOptions)."""

    id: int
    pool: str
    roles: tuple[str, ...]
    heap: tuple[str, str]

    @property
    def process_roles(self) -> str:
        return ",".join(r for r in ("broker", "controller") if r in self.roles)


@dataclass(frozen=True)
class Acl:
    """One ACL rule of a KafkaUser, operations spelled as Strimzi spells them (Read, Write, ...)."""

    resource_type: str
    name: str
    pattern_type: str
    operations: tuple[str, ...]
    host: str = "*"
    permission: str = "allow"


@dataclass(frozen=True)
class User:
    """A KafkaUser: its principal on the brokers, how it authenticates, and its ACLs."""

    object: str
    name: str
    authentication: str
    acls: tuple[Acl, ...]

    @property
    def principal(self) -> str:
        # Strimzi: SCRAM users are User:<name>; TLS users are User:CN=<name> (their certificate's subject).
        return f"User:CN={self.name}" if self.authentication == "tls" else f"User:{self.name}"

    def allows(self, operation: str, resource_type: str, name: str) -> bool:
        """Whether the ACLs allow `operation` on a resource, as Kafka's authorizer decides (deny wins)."""
        def matches(acl: Acl) -> bool:
            if acl.resource_type != resource_type:
                return False
            if acl.pattern_type == "prefix":
                return name.startswith(acl.name)
            return acl.name in ("*", name)

        implied = {operation, "All"} | ({"Read", "Write", "Delete", "Alter"} if operation == "Describe" else set())
        hits = [a for a in self.acls if matches(a) and implied & set(a.operations)]
        return bool(hits) and not any(a.permission == "deny" for a in hits)


@dataclass(frozen=True)
class Topic:
    """A KafkaTopic as Kafka receives it: replicas after the cap, config values as strings."""

    object: str
    name: str
    partitions: int
    replicas: int
    config: Mapping[str, str]


@dataclass(frozen=True)
class Cap:
    """A setting lowered because the run has fewer brokers than the rendered objects ask for."""

    object: str
    field: str
    rendered: int
    used: int

    def __str__(self) -> str:
        return f"{self.object} {self.field}: {self.rendered} rendered, {self.used} in this run"


@dataclass(frozen=True)
class KafkaPlan:
    """Everything a run of the rendered Kafka cluster needs."""

    cluster: str
    namespace: str
    version: str
    listeners: tuple[Listener, ...]
    authorizer: str | None
    super_users: tuple[str, ...]
    config: Mapping[str, str]
    nodes: tuple[Node, ...]
    users: tuple[User, ...]
    topics: tuple[Topic, ...]
    caps: tuple[Cap, ...]

    @property
    def brokers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if "broker" in n.roles)

    @property
    def controllers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if "controller" in n.roles)

    def listener(self, name: str) -> Listener:
        for listener in self.listeners:
            if listener.name == name:
                return listener
        raise PlanError(f"Kafka/{self.cluster} has no listener {name!r} (listeners: "
                        f"{', '.join(sl.name for sl in self.listeners)})")

    def user(self, name: str) -> User:
        for user in self.users:
            if user.name == name:
                return user
        raise PlanError(f"no KafkaUser {name!r} (KafkaUsers: {', '.join(u.name for u in self.users)})")

    def topic(self, name: str) -> Topic:
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise PlanError(f"no KafkaTopic {name!r} (topics: {', '.join(t.name for t in self.topics)})")

    @property
    def bootstrap_service(self) -> str:
        """The in-cluster bootstrap Service (Strimzi: `<cluster>-kafka-bootstrap`)."""
        return f"{self.cluster}-kafka-bootstrap"

    @property
    def cluster_ca_secret(self) -> str:
        return f"{self.cluster}-cluster-ca-cert"

    @property
    def clients_ca_secret(self) -> str:
        return f"{self.cluster}-clients-ca-cert"


def _listeners(kafka: Manifest) -> tuple[Listener, ...]:
    out: list[Listener] = []
    for i, spec in enumerate(kafka["spec"]["kafka"].get("listeners") or []):
        where = f"{ref(kafka)} spec.kafka.listeners[{i}]"
        auth = (spec.get("authentication") or {}).get("type")
        if auth is not None and auth not in AUTHENTICATIONS:
            raise PlanError(f"{where}.authentication.type: {auth!r} cannot run here (harness: "
                            f"{', '.join(AUTHENTICATIONS)} or none)")
        if auth == "tls" and not spec.get("tls"):
            raise PlanError(f"{where}.authentication.type: tls needs tls: true (Strimzi refuses it too)")
        out.append(Listener(spec["name"], int(spec["port"]), bool(spec.get("tls")), auth))
    if not out:
        raise PlanError(f"{ref(kafka)} spec.kafka.listeners: no listener")
    return tuple(out)


def _broker_config(kafka: Manifest) -> dict[str, str]:
    config = kafka["spec"]["kafka"].get("config") or {}
    for key in config:
        if key.startswith(STRIMZI_FORBIDDEN_PREFIXES) and key not in STRIMZI_ALLOWED_EXCEPTIONS:
            raise PlanError(f"{ref(kafka)} spec.kafka.config.{key}: Strimzi manages this option and ignores it "
                            "in the Kafka resource (a forbidden option)")
    return {key: kafka_value(value) for key, value in config.items()}


def _nodes(pools: list[Manifest], max_nodes: int | None) -> tuple[list[Node], list[Cap]]:
    nodes: list[Node] = []
    caps: list[Cap] = []
    for pool in pools:
        spec = pool["spec"]
        roles = tuple(spec.get("roles") or ())
        if not roles or set(roles) - {"broker", "controller"}:
            raise PlanError(f"{ref(pool)} spec.roles: {list(roles)} (expected broker and/or controller)")
        jvm = spec.get("jvmOptions") or {}
        heap = (str(jvm.get("-Xms", jvm.get("-Xmx", "256m"))), str(jvm.get("-Xmx", jvm.get("-Xms", "256m"))))
        replicas = int(spec["replicas"])
        room = replicas if max_nodes is None else max(0, min(replicas, max_nodes - len(nodes)))
        if room < replicas:
            caps.append(Cap(ref(pool), "spec.replicas", replicas, room))
        nodes += [Node(len(nodes) + i, pool["metadata"]["name"], roles, heap) for i in range(room)]
    if not any("controller" in n.roles for n in nodes) or not any("broker" in n.roles for n in nodes):
        raise PlanError(f"KafkaNodePools {', '.join(ref(p) for p in pools) or '(none)'}: the run needs at least one "
                        "controller and one broker")
    return nodes, caps


def _acl(user: Manifest, i: int, rule: Mapping[str, Any]) -> Acl:
    where = f"{ref(user)} spec.authorization.acls[{i}]"
    resource = rule.get("resource") or {}
    rtype = resource.get("type")
    if rtype not in ACL_RESOURCES:
        raise PlanError(f"{where}.resource.type: {rtype!r} (one of {', '.join(ACL_RESOURCES)})")
    ops = tuple(rule.get("operations") or ([rule["operation"]] if rule.get("operation") else []))
    unknown = [op for op in ops if op not in ACL_OPERATIONS]
    if not ops or unknown:
        raise PlanError(f"{where}.operations: {unknown or 'none'} (operations: {', '.join(ACL_OPERATIONS)})")
    name = "kafka-cluster" if rtype == "cluster" else resource.get("name", "*")
    pattern = resource.get("patternType", "literal")
    if pattern not in ("literal", "prefix"):
        raise PlanError(f"{where}.resource.patternType: {pattern!r} (literal or prefix)")
    return Acl(rtype, name, pattern, ops, str(rule.get("host", "*")), str(rule.get("type", "allow")))


def _users(docs: Iterable[Manifest]) -> list[User]:
    users: list[User] = []
    for doc in find(docs, "KafkaUser"):
        spec = doc.get("spec") or {}
        auth = (spec.get("authentication") or {}).get("type")
        if auth not in AUTHENTICATIONS:
            raise PlanError(f"{ref(doc)} spec.authentication.type: {auth!r} cannot run here "
                            f"({', '.join(AUTHENTICATIONS)})")
        authz = spec.get("authorization") or {}
        if authz and authz.get("type") != "simple":
            raise PlanError(f"{ref(doc)} spec.authorization.type: {authz.get('type')!r} (the harness runs simple)")
        acls = tuple(_acl(doc, i, rule) for i, rule in enumerate(authz.get("acls") or []))
        users.append(User(ref(doc), doc["metadata"]["name"], auth, acls))
    return users


def _topics(docs: Iterable[Manifest], brokers: int, default_replicas: int,
            default_partitions: int) -> tuple[list[Topic], list[Cap]]:
    topics: list[Topic] = []
    caps: list[Cap] = []
    for doc in find(docs, "KafkaTopic"):
        spec = doc.get("spec") or {}
        config = {key: kafka_value(v) for key, v in (spec.get("config") or {}).items()}
        rendered = int(spec.get("replicas") or default_replicas)
        replicas = min(rendered, brokers)
        if replicas < rendered:
            caps.append(Cap(ref(doc), "spec.replicas", rendered, replicas))
        if "min.insync.replicas" in config and int(config["min.insync.replicas"]) > replicas:
            caps.append(Cap(ref(doc), "spec.config.min.insync.replicas", int(config["min.insync.replicas"]), replicas))
            config["min.insync.replicas"] = str(replicas)
        topics.append(Topic(ref(doc), spec.get("topicName") or doc["metadata"]["name"],
                            int(spec.get("partitions") or default_partitions), replicas, config))
    return topics, caps


def plan(docs: list[Manifest], *, namespace: str = "todo-chatbot", max_nodes: int | None = None) -> KafkaPlan:
    """The Kafka run of the rendered objects `docs`, with at most `max_nodes` nodes (default: as the pools say)."""
    kafkas = find(docs, "Kafka")
    if len(kafkas) != 1:
        raise PlanError(f"expected one Kafka resource among the rendered objects, found {len(kafkas)}")
    kafka = kafkas[0]
    cluster = kafka["metadata"]["name"]
    pools = [p for p in find(docs, "KafkaNodePool")
             if (p["metadata"].get("labels") or {}).get("strimzi.io/cluster", cluster) == cluster]
    nodes, caps = _nodes(pools, max_nodes)
    brokers = sum(1 for n in nodes if "broker" in n.roles)
    config = _broker_config(kafka)
    for key in (*REPLICATION_FACTORS, *MIN_INSYNC):
        if key in config and int(config[key]) > brokers:
            caps.append(Cap(ref(kafka), f"spec.kafka.config.{key}", int(config[key]), brokers))
            config[key] = str(brokers)
    authz = kafka["spec"]["kafka"].get("authorization") or {}
    authorizer = None
    if authz:
        if authz.get("type") not in AUTHORIZERS:
            raise PlanError(f"{ref(kafka)} spec.kafka.authorization.type: {authz.get('type')!r} cannot run here "
                            f"({', '.join(AUTHORIZERS)})")
        authorizer = AUTHORIZERS[authz["type"]]
    topics, topic_caps = _topics(docs, brokers, int(config.get("default.replication.factor", min(3, brokers))),
                                 int(config.get("num.partitions", 1)))
    version = str(kafka["spec"]["kafka"].get("version") or "")
    if not version:
        raise PlanError(f"{ref(kafka)} spec.kafka.version: not set")
    return KafkaPlan(
        cluster=cluster, namespace=kafka["metadata"].get("namespace") or namespace, version=version,
        listeners=_listeners(kafka), authorizer=authorizer,
        super_users=tuple(f"User:{u}" if not u.startswith("User:") else u for u in authz.get("superUsers") or ()),
        config=config, nodes=tuple(nodes), users=tuple(_users(docs)), topics=tuple(topics),
        caps=tuple(caps + topic_caps))


@dataclass(frozen=True)
class Need:
    """Access a workload needs on the broker, and the rendered object that says so."""

    app: str
    user: str
    operation: str
    resource_type: str
    name: str
    source: str

    def __str__(self) -> str:
        return f"{self.app} needs {self.operation} on {self.resource_type} {self.name} as KafkaUser/{self.user} " \
               f"({self.source})"


def component_metadata(component: Manifest) -> dict[str, Any]:
    """A Dapr Component's metadata entries as name -> value (entries with a secretKeyRef map to None)."""
    return {m["name"]: m.get("value") for m in component["spec"].get("metadata") or [] if "name" in m}


def pubsub_needs(docs: list[Manifest]) -> list[Need]:
    """What the Dapr Kafka pub/sub components' apps need on the broker: Write on every topic of an app's
    `publishingScopes`, Read on every Subscription's topic and on the app's consumer group, Write on its
    dead-letter topic; the user is the component's `saslUsername`."""
    needs: list[Need] = []
    for component in find(docs, "Component"):
        if component["spec"].get("type") != "pubsub.kafka":
            continue
        meta = component_metadata(component)
        user = meta.get("saslUsername")
        if not user:
            continue
        for scope in filter(None, str(meta.get("publishingScopes") or "").split(";")):
            app, _, topics = scope.partition("=")
            needs += [Need(app, user, "Write", "topic", t, f"{ref(component)} publishingScopes")
                      for t in filter(None, topics.split(","))]
        for sub in find(docs, "Subscription"):
            spec = sub.get("spec") or {}
            if spec.get("pubsubname") != component["metadata"]["name"]:
                continue
            for app in sub.get("scopes") or []:
                group = meta.get("consumerGroup") or app
                needs.append(Need(app, user, "Read", "topic", spec["topic"], ref(sub)))
                needs.append(Need(app, user, "Read", "group", group, ref(sub)))
                if spec.get("deadLetterTopic"):
                    needs.append(Need(app, user, "Write", "topic", spec["deadLetterTopic"],
                                      f"{ref(sub)} deadLetterTopic"))
    return needs
