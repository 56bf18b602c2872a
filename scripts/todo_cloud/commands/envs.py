"""`todo-cloud envs`: the environments and where they run."""

from __future__ import annotations

import argparse

from todo_cloud import envs


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    for e in envs.all_environments().values():
        print(f"{e.name:12s} {e.kube_context:36s} {e.description}")
    return 0
