"""`todo-cloud`: the one CLI of todo-chatbot-cloud; every Makefile target runs one of its commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from todo_cloud.commands import COMMANDS, GROUPS, module_name
from todo_cloud.envs import UnknownEnvironment
from todo_cloud.run import CommandError
from todo_cloud.tools import ToolError

WHERE = """where things are: the commands in scripts/todo_cloud/commands/<command>.py, what they work with in
the packages beside them (deploy/, gates/, generate/, observability/, local/, sim/, runtime/, release/); the
README's contributors' map says where a change goes. `todo-cloud COMMAND --help` tells more."""


def project_map() -> str:
    """The commands by group, one line each: the epilog of `todo-cloud --help`."""
    width = max(len(verb) for group in GROUPS.values() for verb in group)
    lines = []
    for title, verbs in GROUPS.items():
        lines.append(f"{title}:" if not lines else f"\n{title}:")
        lines += [f"  {verb:{width}s}  {text}" for verb, text in verbs.items()]
    return "\n".join(lines) + "\n\n" + WHERE


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="todo-cloud", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter, epilog=project_map())
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND", help="one of the commands below")
    for verb in COMMANDS:
        module = importlib.import_module(module_name(verb))
        p = sub.add_parser(verb, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
