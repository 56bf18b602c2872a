"""What a Kafka run is made of, decided from the rendered objects alone (no process): node ids and roles,
listeners, and the caps a run with fewer brokers than the pools declare reports."""

from __future__ import annotations

from collections.abc import Callable

from todo_cloud.runtime import kafka_plan


def test_a_run_with_fewer_brokers_than_production_declares_caps_replicas_and_says_so(
        rendered_objects: Callable, platform_values: Callable[[str], dict]) -> None:
    kafka = platform_values("production")["kafka"]
    plan = kafka_plan.plan(rendered_objects("production"), max_nodes=1)
    caps = {(c.object, c.field): (c.rendered, c.used) for c in plan.caps}
    factor, min_isr = kafka["replication"]["factor"], kafka["replication"]["minInsyncReplicas"]
    assert caps[("KafkaNodePool/dual-role", "spec.replicas")] == (kafka["nodePools"]["dual-role"]["replicas"], 1)
    for topic in kafka["topics"]:
        assert caps[(f"KafkaTopic/{topic}", "spec.replicas")] == (factor, 1)
        assert caps[(f"KafkaTopic/{topic}", "spec.config.min.insync.replicas")] == (min_isr, 1)
        assert (plan.topic(topic).replicas, plan.topic(topic).config["min.insync.replicas"]) == (1, "1")
    assert caps[("Kafka/todo-chatbot-kafka", "spec.kafka.config.default.replication.factor")] == (factor, 1)
    assert str(plan.caps[0]) == "KafkaNodePool/dual-role spec.replicas: 3 rendered, 1 in this run"


def test_production_runs_as_rendered_three_dual_role_nodes_with_both_listeners_and_nothing_capped(
        rendered_objects: Callable, platform_values: Callable[[str], dict]) -> None:
    kafka = platform_values("production")["kafka"]
    plan = kafka_plan.plan(rendered_objects("production"))
    assert plan.caps == ()
    assert [(n.id, n.process_roles) for n in plan.nodes] == [(i, "broker,controller") for i in range(3)]
    assert {sl.name: (sl.port, sl.security_protocol) for sl in plan.listeners} == {
        name: (spec["port"], ("SASL_SSL" if spec["tls"] else "SASL_PLAINTEXT"))
        for name, spec in kafka["listeners"].items()}
    assert plan.authorizer == kafka_plan.AUTHORIZERS["simple"]
