"""How a client connects to the platform's Kafka: one listener of the Kafka CR, as one KafkaUser, with the
Secrets Strimzi writes. A pure function of the rendered (or deployed) custom resources, through
todo_cloud.runtime.kafka_plan, and of the Secrets' decoded data; nothing here connects.

- the listener (by its name in the Kafka CR) gives the security protocol: TLS listeners are verified with
  the cluster CA, key `ca.crt` of the Secret `<cluster>-cluster-ca-cert`;
- a SCRAM-SHA-512 KafkaUser's Secret (named like the user) holds `password` and `sasl.jaas.config`; a TLS
  KafkaUser's holds `user.crt` and `user.key`.

`ClientSettings` renders them for librdkafka (confluent_kafka: the runtime harness's clients) and for
Kafka's Java clients (the console tools the smoke test runs in a broker pod).

Usage:
    settings = client_settings(plan, "tls", "dapr-pubsub", secrets, "todo-chatbot-kafka-kafka-bootstrap:9093")
    producer = confluent_kafka.Producer(settings.librdkafka())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from todo_cloud.runtime.kafka_plan import SCRAM_MECHANISM, KafkaPlan, Listener

# Keys of the Secrets Strimzi writes.
CA_CERT = "ca.crt"
PASSWORD = "password"
JAAS_CONFIG = "sasl.jaas.config"
USER_CERT = "user.crt"
USER_KEY = "user.key"


class SecretMissing(KeyError):
    """A Secret or key the client needs is not there; the message names both and who writes them."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ClientSettings:
    """A client of one listener as one KafkaUser (None: anonymous), with what its Secrets hold."""

    bootstrap: str
    listener: Listener
    user: str | None = None
    password: str | None = None
    jaas_config: str | None = None
    ca_pem: str | None = None
    certificate_pem: str | None = None
    key_pem: str | None = None

    @property
    def scram(self) -> bool:
        return self.user is not None and self.listener.authentication == "scram-sha-512"

    def librdkafka(self) -> dict[str, Any]:
        """confluent_kafka (librdkafka) settings."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap,
                                  "security.protocol": self.listener.security_protocol}
        if self.listener.tls and self.ca_pem:
            config["ssl.ca.pem"] = self.ca_pem
        if self.scram:
            config.update({"sasl.mechanism": SCRAM_MECHANISM, "sasl.username": self.user,
                           "sasl.password": self.password})
        elif self.certificate_pem and self.key_pem:
            config.update({"ssl.certificate.pem": self.certificate_pem, "ssl.key.pem": self.key_pem})
        return config

    def java_properties(self) -> dict[str, str]:
        """Properties of Kafka's Java clients (a `--command-config` file of the console tools)."""
        props = {"bootstrap.servers": self.bootstrap, "security.protocol": self.listener.security_protocol}
        if self.listener.tls and self.ca_pem:
            props.update({"ssl.truststore.type": "PEM", "ssl.truststore.certificates": self.ca_pem})
        if self.scram:
            props.update({"sasl.mechanism": SCRAM_MECHANISM, "sasl.jaas.config": self.jaas_config or jaas_config(
                self.user or "", self.password or "")})
        elif self.certificate_pem and self.key_pem:
            props.update({"ssl.keystore.type": "PEM", "ssl.keystore.certificate.chain": self.certificate_pem,
                          "ssl.keystore.key": self.key_pem})
        return props


def jaas_config(user: str, password: str) -> str:
    """The `sasl.jaas.config` key of a SCRAM KafkaUser's Secret, as Strimzi's User Operator writes it."""
    return f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";'


def _value(secrets: Mapping[str, Mapping[str, str]], name: str, key: str, writer: str) -> str:
    data = secrets.get(name)
    if data is None:
        raise SecretMissing(f"Secret {name} is missing ({writer})")
    if not data.get(key):
        raise SecretMissing(f"Secret {name} has no key {key} ({writer})")
    return data[key]


def client_settings(plan: KafkaPlan, listener: str, user: str | None, secrets: Mapping[str, Mapping[str, str]],
                    bootstrap: str, *, password: str | None = None) -> ClientSettings:
    """The settings of a client of `listener` (its name in the Kafka CR) authenticating as KafkaUser `user`
    (None: anonymous), from `secrets` (Secret name -> decoded data); `password` replaces the Secret's (to
    try a wrong one). SecretMissing names a Secret or key that is not there."""
    sl = plan.listener(listener)
    ca = _value(secrets, plan.cluster_ca_secret, CA_CERT, "the Strimzi cluster operator writes it") if sl.tls else None
    if user is None or sl.authentication is None:
        return ClientSettings(bootstrap, sl, None, ca_pem=ca)
    operator = f"the Strimzi user operator writes it for KafkaUser {user}"
    if sl.authentication == "scram-sha-512":
        if password is not None:
            return ClientSettings(bootstrap, sl, user, password, jaas_config(user, password), ca)
        return ClientSettings(bootstrap, sl, user, _value(secrets, user, PASSWORD, operator),
                              _value(secrets, user, JAAS_CONFIG, operator), ca)
    return ClientSettings(bootstrap, sl, user, ca_pem=ca, certificate_pem=_value(secrets, user, USER_CERT, operator),
                          key_pem=_value(secrets, user, USER_KEY, operator))
