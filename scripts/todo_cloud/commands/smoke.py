"""`todo-cloud smoke`: not built yet; its issue fills it in."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="environment")


def run(args: argparse.Namespace) -> int:
    del args
    print("todo-cloud smoke: not implemented yet", file=sys.stderr)
    return 2
