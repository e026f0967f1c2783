"""CPython's test suites are left out by default and compiled only when a build keeps them:
the default bundle has none of them and its cache entry never compiled them; `--strip none`
(as `strip = []`) keeps them, compiled, importable from a read-only bundle, with the same
archive bytes whether the cache compiled them in an earlier build or in this one."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from packager.cache import MARKER, PYTHONS
from packager.runtime import COMPILED_MARKER
from tests.helpers.bundles import APPS, bwrap_argv, listing, run_pack, unpack

pytestmark = pytest.mark.slow

STDLIB = "python/lib/python3.11"
# One of each kind the `test` part takes (the test package, a package's own tests, IDLE's, an
# extension module only the tests use), with a module to import from it. The test archive has
# what the interpreter at hand has: all of them from a python.org-style build (pyenv, as on
# this machine), only the first and the last from Debian's python3.11 without
# libpython3.11-testsuite.
TEST_PARTS = {
    f"{STDLIB}/test/": "test.support",
    f"{STDLIB}/lib-dynload/_testcapi.": "_testcapi",
    f"{STDLIB}/ctypes/test/": "ctypes.test",
    f"{STDLIB}/idlelib/idle_test/": "idlelib.idle_test",
}
ALWAYS = 2  # the first two


@pytest.fixture(scope="module")
def shipped_parts(python_archive: Path) -> list[str]:
    """The TEST_PARTS the interpreter archive has (the kept bundle must have the same)."""
    out = subprocess.run(
        ["tar", "-tzf", python_archive], capture_output=True, text=True, check=True
    ).stdout
    names = out.splitlines()
    found = [part for part in TEST_PARTS if any(n.startswith(part) for n in names)]
    assert found[:ALWAYS] == list(TEST_PARTS)[:ALWAYS], f"{python_archive} has no test suites"
    return found


def _build(
    project: Path, python_archive: Path, cache: Path, name: str, *extra: str
) -> tuple[Path, str]:
    """Build, keep the archive as `name` beside the project; returns it and its sha256."""
    proc = run_pack(
        ["build", str(project), "--python-archive", str(python_archive), "--json", *extra], cache
    )
    assert proc.returncode == 0, proc.stderr
    artifact = json.loads(proc.stdout)["artifacts"][0]
    kept = project.parent / f"{name}.tar.zst"
    shutil.move(artifact["path"], kept)
    return kept, str(artifact["sha256"])


def _names(archive: Path) -> list[str]:
    out = subprocess.run(
        ["tar", "--zstd", "-tf", archive], capture_output=True, text=True, check=True
    ).stdout
    return [name.split("/", 1)[1] for name in out.splitlines() if "/" in name]


def _runtime_entry(cache: Path) -> Path:
    (entry,) = [p for p in (cache / PYTHONS).iterdir() if (p / MARKER).is_file()]
    return entry


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("strip") / "app"
    shutil.copytree(APPS / "thirdparty", dest, ignore=shutil.ignore_patterns("dist"))
    return dest


@dataclass(frozen=True)
class Builds:
    default: Path
    default_sha: str
    compiled_after_default: list[str]  # test suites' bytecode in the entry after it
    marker_after_default: bool
    entry_a: Path  # the runtime entry of cache A
    kept: Path
    shas: tuple[str, str, str]  # keeping everything: compiled now, earlier, cold


@pytest.fixture(scope="module")
def builds(project: Path, python_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Builds:
    """Cache A: the default build (provisions the runtime), then two that keep everything
    (the first compiles the test suites into the entry, the second finds them compiled).
    Cache B: a build that keeps everything from cold (provisions and compiles in one go)."""
    a, b = tmp_path_factory.mktemp("cache-a"), tmp_path_factory.mktemp("cache-b")
    default, default_sha = _build(project, python_archive, a, "default")
    entry = _runtime_entry(a)
    compiled_after_default = sorted(
        str(p.relative_to(entry)) for p in entry.rglob("test/__pycache__")
    )
    marker_after_default = (entry / COMPILED_MARKER).exists()
    kept_now, sha_now = _build(project, python_archive, a, "now", "--strip", "none")
    _, sha_earlier = _build(project, python_archive, a, "earlier", "--strip", "none")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.pack]\n", "[tool.pack]\nstrip = []\n")
    )
    _, sha_cold = _build(project, python_archive, b, "cold")
    return Builds(
        default,
        default_sha,
        compiled_after_default,
        marker_after_default,
        entry,
        kept_now,
        (sha_now, sha_earlier, sha_cold),
    )


def test_the_default_bundle_has_no_test_suites_and_says_so(builds: Builds) -> None:
    names = _names(builds.default)
    assert f"{STDLIB}/json/__init__.py" in names
    for part in TEST_PARTS:
        assert not [n for n in names if n.startswith(part)], part
    top = subprocess.run(
        ["tar", "--zstd", "-tf", str(builds.default)], capture_output=True, text=True
    ).stdout.split("/", 1)[0]
    manifest = subprocess.run(
        ["tar", "--zstd", "-xOf", str(builds.default), f"{top}/.pack/bundle.json"],
        capture_output=True,
        check=True,
    ).stdout
    assert json.loads(manifest)["strip"] == ["test"]


def test_provisioning_does_not_compile_what_the_default_strips(
    builds: Builds,
) -> None:
    assert builds.compiled_after_default == []
    assert builds.marker_after_default is False
    entry = builds.entry_a
    # The rest of the standard library is compiled, and the sources of the tests are there
    # for a build that keeps them.
    assert list((entry / STDLIB / "json" / "__pycache__").glob("*.pyc"))
    assert (entry / STDLIB / "test" / "support" / "__init__.py").is_file()


def test_keeping_everything_ships_the_test_suites_compiled(
    builds: Builds, shipped_parts: list[str]
) -> None:
    names = set(_names(builds.kept))
    for part in shipped_parts:
        assert [n for n in names if n.startswith(part)], part
    assert f"{STDLIB}/test/__pycache__/__init__.cpython-311.pyc" in names
    assert f"{STDLIB}/test/support/__pycache__/__init__.cpython-311.pyc" in names
    assert (builds.entry_a / COMPILED_MARKER).is_file()


def test_kept_test_suites_give_the_same_bytes_compiled_earlier_now_or_cold(
    builds: Builds,
) -> None:
    now, earlier, cold = builds.shas
    assert now == earlier == cold
    assert builds.default_sha != now


def test_kept_test_modules_import_from_a_read_only_bundle(
    builds: Builds, shipped_parts: list[str], tmp_path: Path
) -> None:
    root = unpack(builds.kept, tmp_path / "out")
    before = listing(root)
    modules = ", ".join(TEST_PARTS[part] for part in shipped_parts)
    code = (
        f"import {modules}, os, sys;"
        "print(os.path.isfile(test.support.__spec__.cached), sys.dont_write_bytecode)"
    )
    argv = bwrap_argv([str(root / "venv/bin/python"), "-I", "-c", code], ro_bind=[root])
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, "True False\n"), proc.stderr
    assert listing(root) == before
