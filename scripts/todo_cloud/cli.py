"""`todo-cloud`: the one CLI behind the Makefile. Run `todo-cloud --help` for its subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

from todo_cloud.commands import COMMANDS
from todo_cloud.envs import UnknownEnvironment
from todo_cloud.run import CommandError
from todo_cloud.tools import ToolError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="todo-cloud", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"todo_cloud.commands.{name}")
        p = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.configure(p)
        p.set_defaults(run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (UnknownEnvironment, ToolError) as exc:
        print(f"todo-cloud {args.command}: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"todo-cloud {args.command}: {exc}", file=sys.stderr)
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
