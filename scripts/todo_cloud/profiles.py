"""Profiles: ways to run one environment's release, each a values layer with what it needs of the cluster.

A profile is `values/profiles/<name>.yaml` (overrides of the umbrella's defaults only, setting
`profile.applied` to its own name) plus its entry in config/profiles.yaml: title, whether the cluster runs
the HA control plane (Terraform's `ha_control_plane` must agree for the profile in use), an optional monthly
budget and what it gives up. An environment runs the profile its file names (`profile.name`,
`todo_cloud.envs.Environment.profile`); `values_files(env, name)` are the files of the same environment
under another profile, which is how the report puts the profiles side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from todo_cloud import yamlfile
from todo_cloud.envs import PROFILE_VALUES, Environment, profile_values_files
from todo_cloud.paths import CACHE, CONFIG

PROFILES_FILE = CONFIG / "profiles.yaml"


class UnknownProfile(ValueError):
    """A profile that config/profiles.yaml does not define (or whose values file is missing)."""


@dataclass(frozen=True)
class GiveUp:
    """One thing a profile gives up, and what runs instead."""

    what: str
    instead: str


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    description: str
    ha_control_plane: bool
    budget_monthly: float | None
    gives_up: tuple[GiveUp, ...]

    @property
    def values_file(self) -> Path:
        return PROFILE_VALUES / f"{self.name}.yaml"


@cache
def all_profiles() -> dict[str, Profile]:
    """Every profile of config/profiles.yaml, in file order."""
    data = yamlfile.load(PROFILES_FILE)["profiles"]
    return {name: Profile(name, p["title"], " ".join(str(p["description"]).split()), bool(p["haControlPlane"]),
                          p.get("budgetMonthly"),
                          tuple(GiveUp(" ".join(g["what"].split()), " ".join(g["instead"].split()))
                                for g in p.get("givesUp") or []))
            for name, p in data.items()}


def get(name: str) -> Profile:
    """A profile by name; UnknownProfile naming config/profiles.yaml and the known ones otherwise."""
    try:
        return all_profiles()[name]
    except KeyError:
        raise UnknownProfile(f"unknown profile {name!r}; config/profiles.yaml defines "
                             f"{', '.join(all_profiles())}") from None


def in_use(env: Environment) -> Profile | None:
    """The profile the environment's file names, or None."""
    return get(env.profile) if env.profile else None


def variants(env: Environment) -> list[str | None]:
    """The profiles to check an environment under: every profile, the one in use first, for an environment
    that runs one; [None] (its files as they are) for the others."""
    if not env.profile:
        return [None]
    return [env.profile, *(p for p in all_profiles() if p != env.profile)]


def values_files(env: Environment, name: str) -> tuple[Path, ...]:
    """The values files of `env` run under profile `name` instead of the one its file names: the profile's
    layer, the environment's file, and `profile.name` set to `name` last (so the umbrella's guard holds)."""
    profile = get(name)
    if not profile.values_file.is_file():
        raise UnknownProfile(f"profile {name!r}: {profile.values_file} does not exist")
    if env.profile == name:
        return env.values_files
    return (*profile_values_files(name, env.values_file), selector(name))


def selector(name: str) -> Path:
    """A values file that only sets `profile.name` (in the repository's cache folder, written once)."""
    path = CACHE / "profiles" / f"select-{name}.yaml"
    text = yaml.safe_dump({"profile": {"name": name}})
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path

