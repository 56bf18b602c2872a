"""`todo-cloud kafka-jars lock | fetch`: the Apache Kafka broker's jars the runtime harness runs
(todo_cloud.runtime.kafka_jars): `lock` resolves their closure with Maven and rewrites tools/kafka/jars.lock
(after a change of the platform's kafka.version or of the roots in versions.toml [kafka]); `fetch` fetches
the locked jars into the user cache and checks every sha256, printing the folder. Exit 1 naming the jar at
fault."""

from __future__ import annotations

import argparse
import sys

from todo_cloud.paths import REPO
from todo_cloud.runtime import kafka_jars


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("lock", help="resolve the broker's jars with Maven and rewrite the lock")
    actions.add_parser("fetch", help="fetch the locked jars into the user cache and check them")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "lock":
            lock = kafka_jars.write_lock(kafka_jars.platform_version())
            print(f"wrote {lock.path.relative_to(REPO)} ({len(lock.jars)} jars, Kafka {lock.kafka_version})")
        else:
            jars = kafka_jars.ensure()
            print(f"{len(jars)} jars checked in {jars[0].parent}")
    except kafka_jars.JarError as exc:
        print(f"todo-cloud kafka-jars: {exc}", file=sys.stderr)
        return 1
    return 0
