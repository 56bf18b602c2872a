"""`todo-cloud down` (`make down`): delete the local kind cluster (the PostgreSQL container keeps its data)."""

from __future__ import annotations

import argparse

from todo_cloud.local import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    return lifecycle.down()
