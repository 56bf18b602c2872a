"""`todo-cloud deps`: see todo_cloud.deps."""

from __future__ import annotations

import argparse

from todo_cloud import deps


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    return deps.main()
