"""`todo-cloud generate [--check]`: see todo_cloud.generate."""

from __future__ import annotations

import argparse

from todo_cloud import generate


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")


def run(args: argparse.Namespace) -> int:
    return generate.main(check=args.check)
