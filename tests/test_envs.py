"""The dependency layer's cache key (what decides it, and only that) and `--refresh`, which
provisions both layers afresh in a directory that is gone afterwards, leaving the cache as it
was and giving the same archive bytes."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from packager import cache as cache_mod
from packager.envs import env_key
from packager.locks import Artifact, LockPlan, LockSource
from packager.pythons import InterpreterArchive
from packager.runtime import Runtime
from packager.targets import Target
from tests.helpers.bundles import APPS, Built, run_pack

ARCHIVE = InterpreterArchive(
    path=Path("/nowhere/cpython.tar.gz"),
    sha256="1" * 64,
    filename="cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz",
    version="3.11.7",
    tag="20990101",
    triple="x86_64-unknown-linux-gnu",
    flavor="install_only",
    freethreaded=False,
)
RUNTIME = Runtime(Path("/cache/pythons/1"), ARCHIVE, "python3.11", "python3.11")
TARGET = Target("x86_64-unknown-linux-gnu")


def _plan(lock: Path, *artifacts: tuple[str, str]) -> LockPlan:
    source = LockSource(lock, "pylock", "f" * 64)
    return LockPlan(
        source,
        tuple(
            Artifact(name, "1.0", "wheel", f"{name}-1.0-py3-none-any.whl", None, None, sha)
            for name, sha in artifacts
        ),
    )


def test_env_key_follows_what_is_installed_not_how_the_lock_is_written() -> None:
    base = env_key(RUNTIME, TARGET, _plan(Path("/a/pylock.toml"), ("six", "a" * 64)))
    # Another lock file (path, format, formatting) naming the same files: the same entry.
    other_lock = _plan(Path("/b/uv.lock"), ("six", "a" * 64))
    assert (
        env_key(
            RUNTIME,
            TARGET,
            replace(other_lock, source=replace(other_lock.source, format="uv.lock")),
        )
        == base
    )
    # A rebuilt runtime object for the same archive: the same entry.
    assert (
        env_key(replace(RUNTIME, entry=Path("/elsewhere"), provisioned=True), TARGET, other_lock)
        == base
    )
    changed = {
        "another file": env_key(RUNTIME, TARGET, _plan(Path("/a"), ("six", "b" * 64))),
        "one more package": env_key(
            RUNTIME, TARGET, _plan(Path("/a"), ("six", "a" * 64), ("extra", "c" * 64))
        ),
        "another interpreter": env_key(
            replace(RUNTIME, archive=replace(ARCHIVE, sha256="2" * 64)),
            TARGET,
            _plan(Path("/a"), ("six", "a" * 64)),
        ),
        "another target": env_key(
            RUNTIME, Target("x86_64_v3-unknown-linux-gnu"), _plan(Path("/a"), ("six", "a" * 64))
        ),
    }
    assert len(set(changed.values()) | {base}) == len(changed) + 1, changed


def _layer_markers(cache: Path) -> dict[str, tuple[int, int, int]]:
    out: dict[str, tuple[int, int, int]] = {}
    for kind in (cache_mod.PYTHONS, cache_mod.ENVS):
        for marker in sorted((cache / kind).glob(f"*/{cache_mod.MARKER}")):
            st = marker.stat()
            out[f"{kind}/{marker.parent.name}"] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def test_refresh_provisions_in_a_throwaway_directory(
    thirdparty_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    cache = thirdparty_bundle.cache_dir
    before = _layer_markers(cache)
    listing_before = sorted(
        p.name for kind in (cache_mod.PYTHONS, cache_mod.ENVS) for p in (cache / kind).iterdir()
    )
    project = tmp_path / "thirdparty"
    shutil.copytree(APPS / "thirdparty", project, ignore=shutil.ignore_patterns("dist"))
    out = tmp_path / "dist"
    proc = run_pack(
        [
            "build",
            str(project),
            "--python-archive",
            str(python_archive),
            "--out",
            str(out),
            "--refresh",
            "--json",
        ],
        cache,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provisioned"] == {"runtime": True, "environment": True}
    # The cached layers were neither used (not even marked used) nor replaced nor added to.
    assert _layer_markers(cache) == before
    assert listing_before == sorted(
        p.name for kind in (cache_mod.PYTHONS, cache_mod.ENVS) for p in (cache / kind).iterdir()
    )
    # The throwaway layers are gone with the staging directory.
    assert sorted(p.name for p in out.iterdir()) == [
        "flakes-bundle-0.3.0-x86_64-unknown-linux-gnu.tar.zst",
        "flakes-bundle-0.3.0-x86_64-unknown-linux-gnu.tar.zst.cdx.json",
        "flakes-bundle-0.3.0-x86_64-unknown-linux-gnu.tar.zst.sha256",
    ]
    # Layers made afresh give the bytes the cached ones gave.
    assert result["artifacts"][0]["sha256"] == thirdparty_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]


def test_a_requirements_lock_naming_the_same_files_reuses_the_environment(
    thirdparty_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    """The thirdparty app locked by an unhashed requirements.txt instead of its pylock.toml:
    refused without --allow-unhashed; with it, the index's file is the pylock's, so the
    cached environment is reused, and bundle.json records the choice."""
    project = tmp_path / "thirdparty"
    shutil.copytree(APPS / "thirdparty", project, ignore=shutil.ignore_patterns("dist"))
    (project / "pylock.toml").unlink()
    (project / "requirements.txt").write_text("pyflakes==3.2.0  # the linter we ship\n")
    args = [
        "build",
        str(project),
        "--python-archive",
        str(python_archive),
        "--out",
        str(tmp_path / "dist"),
        "--format",
        "dir",
        "--json",
    ]
    proc = run_pack(args, thirdparty_bundle.cache_dir)
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"error: {project / 'requirements.txt'}:1: pyflakes==3.2.0 has no --hash; "
    )
    proc = run_pack([*args, "--allow-unhashed"], thirdparty_bundle.cache_dir)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["provisioned"] == {"runtime": False, "environment": False}
    bundle = Path(result["artifacts"][0]["path"])
    meta = json.loads((bundle / ".pack" / "bundle.json").read_text())
    assert meta["allow_unhashed"] is True
    assert meta["lock"]["format"] == "requirements"
    assert meta["lock"]["path"] == "requirements.txt"
