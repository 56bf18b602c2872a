"""Terraform checks with a real CLI: OpenTofu and the DigitalOcean provider, both built from Go modules.

Usage: todo-cloud terraform validate [--env staging] [--no-build]   (make tf-validate)
       todo-cloud terraform build

`validate` does, per environment (terraform/environments/<env>.tfvars):
1. variables: `tofu plan -input=false -var-file=<env>.tfvars` over a copy of terraform/variables.tf alone,
   so every validation rule (allowed regions and sizes, autoscaling min <= max, database firewall) is
   evaluated by the real CLI; this needs no provider;
2. configuration: `tofu init -backend=false` and `tofu validate` over a copy of terraform/ with the
   DigitalOcean provider served from a filesystem mirror under .cache/terraform (TF_CLI_CONFIG_FILE); this
   needs the provider binary and is reported as skipped, with the reason, when it cannot be had.
Copies keep terraform/ free of .terraform/ and of a lock file holding hashes of a locally built provider.

Both binaries are pinned in versions.toml [go_builds.tofu] and [go_builds.terraform-provider-digitalocean].
Neither builds with `go install module@version` (their go.mod files carry replace directives), which is
all [go_tools] (`make tools-go`, the bootstrap) can do; so todo_cloud.gobuild builds them as the main module
from the module proxy's source: `go mod download`, then `go build` of `package` in a copy of the module, into
the user cache's go-bin folder next to the [go_tools] builds.
`TODO_CLOUD_DO_PROVIDER=<path to a provider binary>` serves a provider built elsewhere instead.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todo_cloud import gobuild, versions
from todo_cloud.paths import CACHE, TERRAFORM
from todo_cloud.run import Completed, run

ENVIRONMENTS_DIR = TERRAFORM / "environments"
WORK = CACHE / "terraform"
TOFU = "tofu"
PROVIDER = "terraform-provider-digitalocean"
PROVIDER_SOURCE = "digitalocean/digitalocean"
PROVIDER_ENV = "TODO_CLOUD_DO_PROVIDER"
# Registry hosts a provider address may resolve to (OpenTofu's default, and Terraform's).
REGISTRY_HOSTS = ("registry.opentofu.org", "registry.terraform.io")


class Unavailable(RuntimeError):
    """A binary cannot be had here; the message is the exact reason (used as a skip reason)."""


def environments() -> list[str]:
    """Environments with a tfvars file, sorted."""
    return sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.tfvars"))


def parse_hcl(path: Path) -> dict[str, Any]:
    """One HCL file (.tf, .tfvars, .tfbackend) as python-hcl2 reads it: quotes stripped, blocks as lists."""
    import hcl2

    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
    with path.open() as fh:
        return hcl2.load(fh, serialization_options=options)


def tfvars(env: str) -> Path:
    path = ENVIRONMENTS_DIR / f"{env}.tfvars"
    if not path.is_file():
        raise FileNotFoundError(f"no tfvars for environment {env!r}: {path} (have: {', '.join(environments())})")
    return path


# --- building the pinned Go tools -----------------------------------------------------------------------


def _pin(name: str) -> dict[str, Any]:
    pins = versions.load().get("go_builds", {})
    if name not in pins:
        raise Unavailable(f"versions.toml has no [go_builds.{name}] table")
    return pins[name]


def build_dir(name: str) -> Path:
    """Cache folder of one pinned build (shared by every clone on the machine)."""
    return gobuild.folder(name)


def built(name: str) -> Path:
    """Path of a pinned build; raises Unavailable naming it when it is absent."""
    try:
        return gobuild.built(name)
    except gobuild.BuildError as exc:
        raise Unavailable(f"{name} {_pin(name)['version']} is not built") from exc


def build_main_module(name: str) -> Path:
    """Build one [go_builds] tool from the module proxy's source (idempotent, todo_cloud.gobuild); its path."""
    _pin(name)
    try:
        return gobuild.build(name)
    except gobuild.BuildError as exc:
        raise Unavailable(f"{name} {_pin(name)['version']}: {exc}") from exc


def _failure_note(name: str) -> Path:
    """Where the reason of the last failed build of `name` is kept (so a later skip can say it)."""
    out = build_dir(name)
    return out.with_name(out.name + ".unavailable")


def _built(name: str, build: bool) -> Path:
    note = _failure_note(name)
    if build:
        try:
            path = build_main_module(name)
        except Unavailable as exc:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(str(exc))
            raise
        note.unlink(missing_ok=True)
        return path
    try:
        return built(name)
    except Unavailable as exc:
        if note.is_file():
            raise Unavailable(note.read_text()) from exc
        pin = _pin(name)
        raise Unavailable(
            f"{name} {pin['version']} is not built: run `make tf-validate` (builds {pin['module']}@{pin['version']} "
            "from the Go module proxy)"
        ) from exc


def tofu(build: bool = False) -> Path:
    """The pinned OpenTofu binary; raises Unavailable with the reason when it is absent (or cannot be built)."""
    return _built(TOFU, build)


def provider(build: bool = False) -> tuple[Path, str]:
    """The DigitalOcean provider binary and the version it is served as; Unavailable with the reason."""
    pin = _pin(PROVIDER)
    override = os.environ.get(PROVIDER_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise Unavailable(f"{PROVIDER_ENV}={override} is not a file")
        return path, pin["provider_version"]
    return _built(PROVIDER, build), pin["provider_version"]


# --- running OpenTofu ---------------------------------------------------------------------------------


@dataclass
class Result:
    """Outcome of one check: passed, failed (with output) or skipped (with the reason)."""

    name: str
    status: str
    detail: str = ""
    commands: list[str] = field(default_factory=list)


def cli_env(cli_config: Path | None, data_dir: Path) -> dict[str, str]:
    """Environment of a tofu run: no credentials, no prompts, our CLI config and data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "DIGITALOCEAN_", "SPACES_"))}
    env.update(TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(data_dir),
               TF_CLI_CONFIG_FILE=str(cli_config or os.devnull))
    return env


def variables_module(where: Path) -> Path:
    """A module holding only terraform/variables.tf: its rules need no provider and no backend."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    shutil.copy2(TERRAFORM / "variables.tf", where / "variables.tf")
    return where


def check_variables(var_files: list[Path], where: Path, binary: Path) -> Completed[str]:
    """`tofu plan` over the variables-only module with `var_files` (later ones win); not checked."""
    module = variables_module(where / "module")
    return run([binary, f"-chdir={module}", "plan", "-input=false", "-lock=false", "-no-color",
                *(f"-var-file={f.resolve()}" for f in var_files)],
               check=False, env=cli_env(None, where / "data"), timeout=300)


def configuration_copy(where: Path) -> Path:
    """A copy of terraform/ (the .tf files and environments/) to run init and validate in."""
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(TERRAFORM, where, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return where


def provider_mirror(binary: Path, version: str, where: Path) -> Path:
    """A filesystem mirror serving `binary` as digitalocean/digitalocean `version`, and the CLI config using it."""
    mirror = where / "providers"
    shutil.rmtree(mirror, ignore_errors=True)
    include = []
    for host in REGISTRY_HOSTS:
        target = mirror / host / PROVIDER_SOURCE / version / "linux_amd64"
        target.mkdir(parents=True)
        (target / f"terraform-provider-digitalocean_v{version}").symlink_to(binary.resolve())
        include.append(f'"{host}/{PROVIDER_SOURCE}"')
    config = where / "tofurc"
    config.write_text(
        "# generated by todo_cloud.terraform: serve the locally built DigitalOcean provider, fetch nothing\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = [{", ".join(include)}]\n  }}\n'
        "}\n"
    )
    return config


def validate_configuration(env: str, binary: Path, provider_binary: Path, version: str) -> Result:
    """`tofu init -backend=false` and `tofu validate` for one environment, in a copy of terraform/."""
    where = WORK / env
    config = provider_mirror(provider_binary, version, where)
    module = configuration_copy(where / "module")
    env_vars = cli_env(config, where / "data")
    commands = [
        [binary, f"-chdir={module}", "init", "-backend=false", "-input=false", "-no-color"],
        [binary, f"-chdir={module}", "validate", "-no-color", f"-var-file=environments/{env}.tfvars"],
    ]
    for cmd in commands:
        proc = run(cmd, check=False, env=env_vars, timeout=600)
        if proc.returncode != 0:
            return Result(f"{env}: configuration", "failed", (proc.stderr or proc.stdout).strip(),
                          [" ".join(map(str, cmd))])
    return Result(f"{env}: configuration", "passed", "init -backend=false && validate")


def validate(envs: list[str], build: bool = True) -> list[Result]:
    """Every check for `envs`; skipped checks carry the reason."""
    results: list[Result] = []
    try:
        binary = tofu(build)
    except Unavailable as exc:
        return [Result(f"{env}: {check}", "skipped", str(exc))
                for env in envs for check in ("variables", "configuration")]
    try:
        provider_binary, version = provider(build)
        missing = ""
    except Unavailable as exc:
        provider_binary, version, missing = None, "", str(exc)
    for env in envs:
        proc = check_variables([tfvars(env)], WORK / env / "variables", binary)
        results.append(Result(f"{env}: variables", "passed" if proc.returncode == 0 else "failed",
                              "all validation rules hold" if proc.returncode == 0 else proc.stderr.strip()))
        if provider_binary is None:
            results.append(Result(f"{env}: configuration", "skipped", missing))
        else:
            results.append(validate_configuration(env, binary, provider_binary, version))
    return results
