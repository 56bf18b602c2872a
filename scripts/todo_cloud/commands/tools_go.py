"""`todo-cloud tools-go [NAME ...]` (`make tools-go`): build pinned Go programs from the Go module proxy into the
user cache (todo_cloud.gobuild), where every clone finds them: the named pins of versions.toml [go_tools] or
[go_builds], by default every [go_tools] entry (actionlint, the OCI registry, promtool, kind, ...). Builds
already there are kept. Prints the path of each; exit 1 when one cannot be built, saying why."""

from __future__ import annotations

import argparse
import sys

from todo_cloud import gobuild


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"pins to build (default: every [go_tools] entry); known: {', '.join(gobuild.names())}")


def run(args: argparse.Namespace) -> int:
    status = 0
    for name in args.names or gobuild.names("go_tools"):
        try:
            print(f"{name}: {gobuild.build(name)}")
        except gobuild.BuildError as exc:
            print(f"todo-cloud tools-go: {name}: {exc}", file=sys.stderr)
            status = 1
    return status
