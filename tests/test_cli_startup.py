"""The CLI loads only what a command needs (timings are the benchmark's business; these guard
the structure that makes start-up fast): `--version` imports neither typer nor the library,
`inspect`/`verify`/`--help` never load the build pipeline, the catalog or the HTTP client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from packager import __version__
from tests.helpers.bundles import Built, pack_env

HEAVY = ["typer", "rich", "httpx", "pbs_installer", "packager.build", "packager.pythons"]
PIPELINE = [
    "httpx",
    "pbs_installer",
    "packager.build",
    "packager.pythons",
    "packager.envs",
]


# What a build from a local interpreter archive, with --json and no terminal, has no use for:
# the HTTP clients (nothing is downloaded), the catalog, rich (nothing is drawn) and pydantic.
BUILD_SKIPS = [
    "httpx",
    "pbs_installer",
    "rich",
    "urllib.request",
    "pack_runtime.fetch",
    "pydantic",  # typer 0.29 and later load it for every option: pyproject keeps typer below
]


def _loaded(
    args: list[str], watch: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    code = (
        "import json, sys\n"
        "from packager.cli import main\n"
        "try:\n"
        f"    status = main({args!r})\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "sys.stdout.flush()\n"
        f"print(json.dumps([m for m in {watch!r} if m in sys.modules]), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    return proc, json.loads(proc.stderr.strip().splitlines()[-1])


def test_version_imports_nothing_heavy() -> None:
    proc, loaded = _loaded(["--version"], HEAVY)
    assert proc.returncode == 0
    assert proc.stdout == f"pack {__version__}\n"
    assert loaded == []


def test_version_with_other_options_still_answers() -> None:
    proc, _ = _loaded(["-q", "--version"], [])
    assert (proc.returncode, proc.stdout) == (0, f"pack {__version__}\n")


def test_help_lists_every_command_without_the_pipeline() -> None:
    proc, loaded = _loaded(["--help"], [*PIPELINE, "packager.sbom"])
    assert proc.returncode == 0
    for command in ("build", "cache", "fetch", "run", "inspect", "verify", "python", "sbom"):
        assert f" {command} " in proc.stdout
    assert loaded == []


@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_inspect_and_verify_skip_the_pipeline(built_bundle: Built, command: str) -> None:
    proc, loaded = _loaded([command, str(built_bundle.archive), "--json"], PIPELINE)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)
    assert loaded == []


def test_an_unknown_command_is_a_usage_error() -> None:
    proc, _ = _loaded(["biuld"], [])
    assert proc.returncode == 2
    assert "No such command 'biuld'" in proc.stderr


def test_a_local_build_loads_no_http_client_nor_rich(
    built_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(built_bundle.project, project, ignore=shutil.ignore_patterns("dist"))
    args = ["build", str(project), "--python-archive", str(python_archive), "--offline", "--json"]
    proc, loaded = _loaded(args, BUILD_SKIPS, pack_env(built_bundle.cache_dir))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["artifacts"][0]["smoke_test"] == "passed"
    assert loaded == []
