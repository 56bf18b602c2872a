"""Helpers of the kind tests: fake docker and kind executables that record their calls (the recorded command
sequences of make up), and the images of the local release."""

from __future__ import annotations

from pathlib import Path

BACKEND = "kind.local/todo-chatbot-backend:dev"
FRONTEND = "kind.local/todo-chatbot-frontend:dev"
ANALYTICS = "kind.local/todo-chatbot-analytics:dev"
# The analytics consumer wired into the charts as workloads/README.md ("Wiring into the charts") describes it,
# for the tests that need the release with it until the charts carry it (then this changes nothing).
ANALYTICS_WIRING = {
    "app": {"components": {"analytics": {
        "enabled": True, "image": {"repository": "todo-chatbot-analytics", "tag": "dev"}, "port": 8000,
        "kafka": True, "subscriptions": ["todo-events", "chat-events"]}}},
    "platform": {"dapr": {"apps": {"analytics": {
        "enabled": True, "publishes": [],
        "subscribes": {"todo-events": "/events/todo-events", "chat-events": "/events/chat-events"}}}}},
}


def fake_bin(folder: Path, name: str, script: str) -> None:
    """An executable `name` in `folder` that logs its arguments to folder/calls.log, then runs `script`."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/calls.log"\n{script}\n')
    path.chmod(0o755)


def calls(folder: Path) -> list[str]:
    """The recorded calls, one `<name> <arguments>` line each, in order."""
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.is_file() else []


def docker_with_images(folder: Path, present: tuple[str, ...], *, failing_build: str | None = None) -> None:
    """A docker client whose engine runs and that has the images `present` (and nothing else); `docker build`
    succeeds, except for the tag `failing_build`."""
    cases = " ".join(f'"{i}"' for i in present)
    fail = f'for a in "$@"; do [ "$a" = "{failing_build}" ] && echo "build failed" >&2 && exit 1; done; ' \
        if failing_build else ""
    fake_bin(folder, "docker", f"""case "$1" in
  info) exit 0 ;;
  image) for have in {cases}; do [ "$3" = "$have" ] && exit 0; done; exit 1 ;;
  build) {fail}exit 0 ;;
  *) exit 0 ;;
esac""")


def kind_reporting(folder: Path, version: str) -> None:
    fake_bin(folder, "kind", f'[ "$1" = version ] && echo "kind {version} go1.26.8 linux/amd64"; exit 0')
