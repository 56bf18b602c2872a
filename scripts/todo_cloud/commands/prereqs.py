"""`todo-cloud prereqs [NAME ...] [--check]` (`make prereqs`, part of `make test`): build or fetch what the test
suite needs that this machine can build itself (todo_cloud.prereqs: the Go-built tools, the simulated
cluster's binaries, OpenTofu, the external CRDs, the Kafka jars), cached under ~/.cache/todo-chatbot-cloud.
Prints one line per prerequisite; exit 1, naming each one and why, when any cannot be had. `--check` builds
nothing and exits 1 when one is missing."""

from __future__ import annotations

import argparse
import sys

from todo_cloud import prereqs


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="prerequisites to build (default: all): "
                             + ", ".join(p.name for p in prereqs.all_prerequisites()))
    parser.add_argument("--check", action="store_true", help="build nothing; exit 1 when one is missing")


def run(args: argparse.Namespace) -> int:
    try:
        wanted = [prereqs.get(n) for n in args.names] if args.names else prereqs.all_prerequisites()
    except KeyError as exc:
        print(f"todo-cloud prereqs: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.check:
        missing = 0
        for p in wanted:
            try:
                print(f"ready   {p.name:22s} {p.find()}")
            except prereqs.Missing as exc:
                missing += 1
                print(f"MISSING {p.name:22s} {exc}")
        return 1 if missing else 0
    outcomes = prereqs.build([p.name for p in wanted], report=lambda line: print(line, file=sys.stderr))
    for o in outcomes:
        label = {"ready": "ready ", "made": "built ", "failed": "FAILED"}[o.status]
        took = f" ({o.seconds:.0f} s)" if o.status == "made" else ""
        print(f"{label} {o.name:22s} {o.detail}{took}")
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"todo-cloud prereqs: {len(failed)} prerequisite(s) of the test suite could not be had: "
              f"{', '.join(o.name for o in failed)}", file=sys.stderr)
        return 1
    return 0
