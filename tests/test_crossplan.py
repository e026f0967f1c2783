"""Planning per target: the target list, each target's interpreter archive from its file name,
the wheel policy (tags, glibc, uv's platform name), the host interpreter that stands in for a
target this host cannot run, and one error listing every package without a wheel for the
target, on a lock made by uv during the session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from packager.config import load_config
from packager.context import Context
from packager.crossplan import (
    archive_for,
    archives_by_target,
    check_builder,
    parse_glibc,
    parse_targets,
    target_environment,
    uv_platform,
)
from packager.envs import plan_environment
from packager.errors import ConfigError, LockError
from packager.install import uv_bin
from packager.locks import find_lock
from packager.pythons.asset import describe
from packager.targets import KNOWN_TRIPLES, Target, host_target
from tests.helpers.bundles import run_pack

ARM = Target("aarch64-unknown-linux-gnu")


def _archive(triple: str, version: str = "3.11.7", variant: str = "") -> Path:
    return Path(f"/x/cpython-{version}+20990101-{triple}-{variant}install_only_stripped.tar.gz")


def test_targets_in_order_each_once_default_host() -> None:
    assert parse_targets([]) == (host_target(),)
    assert parse_targets(
        ["aarch64-unknown-linux-gnu", "x86_64-apple-darwin", "AARCH64-unknown-linux-gnu"]
    ) == (ARM, Target("x86_64-apple-darwin"))


def test_windows_is_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError) as err:
        parse_targets(["x86_64-pc-windows-msvc"])
    assert str(err.value) == (
        "x86_64-pc-windows-msvc: Windows targets are not supported yet (a bundle's launchers "
        "are POSIX sh and its venv is made of symlinks); build for one of: "
        + ", ".join(KNOWN_TRIPLES)
    )


def test_archives_are_told_apart_by_name() -> None:
    arm, host = _archive("aarch64-unknown-linux-gnu"), _archive("x86_64-unknown-linux-gnu")
    assert archives_by_target([arm, host]) == {
        "aarch64-unknown-linux-gnu": arm,
        "x86_64-unknown-linux-gnu": host,
    }
    assert archive_for([arm, host], ARM) == arm
    assert archive_for([arm, host], Target("x86_64-apple-darwin")) is None
    # One archive is the archive, whatever the target: the interpreter step explains.
    assert archive_for([arm], Target("x86_64-apple-darwin")) == arm
    other = _archive("aarch64-unknown-linux-gnu", "3.11.9")
    with pytest.raises(ConfigError) as err:
        archives_by_target([arm, other])
    assert str(err.value) == (
        f"two interpreter archives for aarch64-unknown-linux-gnu: {arm} and {other}; "
        "pass one per target"
    )
    with pytest.raises(ConfigError) as err:
        archives_by_target([arm, Path("/x/python.tar.gz")])
    assert str(err.value) == (
        "python.tar.gz is not named like a python-build-standalone archive "
        "(cpython-<version>+<tag>-<target>-install_only[_stripped].tar.gz|.tar.zst); with "
        "several --python-archive, each one's target is read from its name"
    )


def test_builder_must_be_the_same_minor() -> None:
    target = describe(_archive("aarch64-unknown-linux-gnu", "3.11.2"), "0" * 64)
    check_builder(target, describe(_archive("x86_64-unknown-linux-gnu", "3.11.7"), "1" * 64))
    builder = describe(_archive("x86_64-unknown-linux-gnu", "3.12.7"), "1" * 64)
    with pytest.raises(ConfigError) as err:
        check_builder(target, builder)
    assert str(err.value) == (
        f"{builder.filename} cannot compile bytecode for {target.filename}: a host interpreter "
        "of the same minor version (3.11) is needed; pass one with --python-archive"
    )


def test_wheel_policy_per_target() -> None:
    def platforms(triple: str, glibc: tuple[int, int] | None = None) -> set[str]:
        archive = describe(_archive(triple), "0" * 64)
        env = target_environment(Target(triple), archive, glibc=glibc)
        return {t.platform for t in env.tags}

    gnu = platforms("aarch64-unknown-linux-gnu")
    assert "manylinux_2_17_aarch64" in gnu and "manylinux2014_aarch64" in gnu
    assert "manylinux_2_28_aarch64" not in gnu and not any("x86_64" in p for p in gnu)
    assert "manylinux_2_28_aarch64" in platforms("aarch64-unknown-linux-gnu", (2, 28))
    musl = platforms("x86_64-unknown-linux-musl")
    assert "musllinux_1_2_x86_64" in musl and not any("manylinux" in p for p in musl)
    mac = platforms("aarch64-apple-darwin")
    assert "macosx_11_0_arm64" in mac and "macosx_11_0_universal2" in mac
    assert "macosx_12_0_arm64" not in mac and "macosx_10_9_x86_64" not in mac
    assert "macosx_10_9_x86_64" in platforms("x86_64-apple-darwin")
    env = target_environment(ARM, describe(_archive(ARM.triple, "3.11.2"), "0" * 64))
    assert env.markers["platform_machine"] == "aarch64"
    assert env.markers["python_full_version"] == "3.11.2"
    assert env.glibc == (2, 17)


def test_uv_platform_names() -> None:
    assert uv_platform(ARM, (2, 17)) == "aarch64-manylinux_2_17"
    assert uv_platform(ARM, (2, 28)) == "aarch64-manylinux_2_28"
    assert uv_platform(Target("x86_64-unknown-linux-gnu"), (2, 30)) == "x86_64-manylinux_2_31"
    assert uv_platform(Target("x86_64-unknown-linux-gnu"), (2, 99)) == "x86_64-manylinux_2_40"
    assert uv_platform(Target("x86_64_v3-unknown-linux-gnu"), None) == "x86_64-unknown-linux-gnu"
    assert uv_platform(Target("aarch64-unknown-linux-musl"), None) == "aarch64-unknown-linux-musl"
    assert uv_platform(Target("aarch64-apple-darwin"), None) == "aarch64-apple-darwin"


def test_glibc_and_target_list_in_config(tmp_path: Path) -> None:
    assert parse_glibc("2.28", "here") == (2, 28)
    with pytest.raises(ConfigError) as err:
        parse_glibc("2.28.1", "here")
    assert str(err.value) == "here: '2.28.1' is not a glibc version; write it like 2.28"
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1"\n[tool.pack]\n'
        'target = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"]\nglibc = "2.28"\n'
    )
    cfg = load_config(tmp_path)
    assert cfg.targets == ("aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu")
    assert cfg.target == "aarch64-unknown-linux-gnu" and cfg.glibc == "2.28"
    assert load_config(tmp_path, {"target": ("x86_64-apple-darwin",)}).targets == (
        "x86_64-apple-darwin",
    )
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1"\n[tool.pack]\ntarget = []\nglibc = "two"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.pack] target is empty; name at least one target"
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, {"target": ("aarch64-unknown-linux-gnu",)})
    assert str(err.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.pack] glibc: 'two' is not a glibc version; "
        "write it like 2.28"
    )


X86_ONLY_PROJECT = """
[project]
name = "twocompiled"
version = "1.0"
requires-python = ">=3.11"
dependencies = ["markupsafe==3.0.2", "pyyaml==6.0.2"]

[tool.pack]
entry-points = ["nothing"]
"""


@pytest.fixture(scope="module")
def x86_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose pylock.toml (made by uv for x86_64 Linux) has, for two compiled
    packages, x86_64 wheels only: markupsafe without its sdist, pyyaml with it."""
    project = tmp_path_factory.mktemp("x86-only")
    (project / "pyproject.toml").write_text(X86_ONLY_PROJECT)
    (project / "req.in").write_text("markupsafe==3.0.2\npyyaml==6.0.2\n")
    subprocess.run(
        [uv_bin(), "pip", "compile", "req.in", "--format", "pylock.toml", "-o", "pylock.toml",
         "--python-platform", "x86_64-manylinux_2_17", "--python-version", "3.11",
         "--only-binary", "markupsafe", "--no-config", "--quiet"],
        cwd=project,
        check=True,
    )  # fmt: skip
    (project / "req.in").unlink()
    return project


def _wheels_of(project: Path, name: str) -> str:
    import tomllib

    lock = tomllib.loads((project / "pylock.toml").read_text())
    (package,) = [p for p in lock["packages"] if p["name"] == name]
    assert len(package["wheels"]) == 1
    tags = package["wheels"][0]["url"].rsplit("/", 1)[-1].removesuffix(".whl").split("-")[-1]
    return ", ".join(sorted(tags.split(".")))


def test_lock_without_target_wheels_lists_every_package(x86_only: Path) -> None:
    cfg = load_config(x86_only)
    lock = find_lock(x86_only, None)
    archive = describe(_archive(ARM.triple, "3.11.2"), "0" * 64)
    with pytest.raises(LockError) as err:
        plan_environment(Context(), cfg, lock, ARM, archive, sdist_ok=False)
    assert str(err.value) == (
        f"{lock.path}: 2 packages have no usable wheel for {ARM} (manylinux_2_17 or older "
        f"(--glibc to change)): markupsafe 3.0.2 (wheels only for: "
        f"{_wheels_of(x86_only, 'markupsafe')}); pyyaml 6.0.2 (only its source distribution "
        f"fits; building it would build for the host; wheels only for: "
        f"{_wheels_of(x86_only, 'pyyaml')}); lock versions that publish wheels for {ARM}, or "
        "build on the target platform itself"
    )
    # For the host the same lock plans: its wheels fit.
    host = describe(_archive("x86_64-unknown-linux-gnu"), "0" * 64)
    plan = plan_environment(Context(), cfg, lock, host_target(), host)
    assert {a.name: a.kind for a in plan.artifacts} == {"markupsafe": "wheel", "pyyaml": "wheel"}


def test_build_for_aarch64_fails_before_anything_is_made(
    x86_only: Path, aarch64_archive: Path, python_archive: Path, session_cache: Path
) -> None:
    proc = run_pack(
        ["build", str(x86_only), "--target", ARM.triple,
         "--python-archive", str(aarch64_archive), "--python-archive", str(python_archive)],
        session_cache,
    )  # fmt: skip
    assert proc.returncode != 0
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith(
        f"error: {x86_only / 'pylock.toml'}: 2 packages have no usable wheel for {ARM} "
    )
    assert "markupsafe 3.0.2 (wheels only for: " in line and "pyyaml 6.0.2 (only its source" in line
    assert not (x86_only / "dist").exists() or not any((x86_only / "dist").iterdir())


def test_several_archives_in_config_resolve_against_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "a"\nversion = "1"\n[tool.pack]\npython-archive = ['
        f'"pbs/{_archive(ARM.triple).name}", "/abs/{_archive("x86_64-unknown-linux-gnu").name}"]\n'
    )
    cfg = load_config(tmp_path)
    assert cfg.python_archives == (
        tmp_path / "pbs" / _archive(ARM.triple).name,
        Path("/abs") / _archive("x86_64-unknown-linux-gnu").name,
    )
    assert cfg.python_archive == cfg.python_archives[0]


def test_requirements_with_only_an_sdist_for_the_target(x86_only: Path, tmp_path: Path) -> None:
    """A hashed requirements file whose only matching file on PyPI is the sdist plans for the
    host (it would be built there) and is refused for another target."""
    import tomllib

    lock = tomllib.loads((x86_only / "pylock.toml").read_text())
    (pyyaml,) = [p for p in lock["packages"] if p["name"] == "pyyaml"]
    sdist = pyyaml["sdist"]
    project = tmp_path / "reqs"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "reqs"\nversion = "1"\ndependencies = ["pyyaml==6.0.2"]\n'
    )
    (project / "requirements.txt").write_text(
        f"pyyaml==6.0.2 --hash=sha256:{sdist['hashes']['sha256']}\n"
    )
    cfg = load_config(project, {"lock": "requirements.txt"})
    source = find_lock(project, cfg.lock)
    ctx = Context(cache_dir=tmp_path / "cache")
    archive = describe(_archive(ARM.triple, "3.11.2"), "0" * 64)
    with pytest.raises(LockError) as err:
        plan_environment(ctx, cfg, source, ARM, archive, sdist_ok=False)
    assert str(err.value) == (
        f"{source.path}: 1 package has no usable wheel for {ARM} (manylinux_2_17 or older "
        "(--glibc to change)): pyyaml 6.0.2 (only its source distribution pyyaml-6.0.2.tar.gz "
        "fits; building it would build for the host); lock versions that publish wheels for "
        f"{ARM}, or build on the target platform itself"
    )
    host = describe(_archive("x86_64-unknown-linux-gnu"), "0" * 64)
    plan = plan_environment(ctx, cfg, source, host_target(), host)
    assert [(a.name, a.kind) for a in plan.artifacts] == [("pyyaml", "sdist")]
