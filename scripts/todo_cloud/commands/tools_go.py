"""`todo-cloud tools-go` (`make tools-go`): build every Go-built tool of versions.toml [go_tools] (actionlint,
the OCI registry, promtool, kind, ...) with `go install` into the user cache, where every clone finds it;
tools already built are kept. Prints the path of each."""

from __future__ import annotations

import argparse

from todo_cloud import tools, versions


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    for name in versions.load().get("go_tools", {}):
        print(tools.build_go_tool(name))
    return 0
