"""Cross-target builds from this x86_64 host: one command builds the compiled app for x86_64
and aarch64 (a real aarch64 CPython from Debian's arm64 packages, run under qemu through
binfmt_misc); the x86_64 archive is the native one byte for byte, also when installed through
the cross path; the guard refuses a planted x86_64 binary; macOS and musl bundles are planned,
laid out and guarded with real binaries of those platforms."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from packager.binarch import identify
from packager.build import BuildOptions, build
from packager.config import load_config
from packager.context import Context
from packager.emulation import why_not_runnable
from packager.targets import Target
from tests.helpers.bundles import APPS, Built, app_report, pack_env, run_app, run_pack, unpack
from tests.helpers.foreign_archive import make_foreign_archive
from tests.helpers.wheel_binaries import speedups

pytestmark = pytest.mark.slow

ARM = "aarch64-unknown-linux-gnu"
X86 = "x86_64-unknown-linux-gnu"
SITE = "venv/lib/python3.11/site-packages"
# None when aarch64 binaries run here (.ci/run enables qemu-aarch64 in binfmt_misc).
NO_QEMU = why_not_runnable(Target(ARM))


def _project(tmp: Path, app: str = "compiled") -> Path:
    project = tmp / app
    shutil.copytree(APPS / app, project, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return project


@pytest.fixture(scope="module")
def cross(
    tmp_path_factory: pytest.TempPathFactory,
    python_archive: Path,
    aarch64_archive: Path,
    session_cache: Path,
) -> dict[str, object]:
    """`pack build --target x86_64 --target aarch64` of the compiled app, once."""
    project = _project(tmp_path_factory.mktemp("cross"))
    proc = run_pack(
        ["build", str(project), "--json", "--target", X86, "--target", ARM,
         "--python-archive", str(python_archive), "--python-archive", str(aarch64_archive)],
        session_cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    result["project"] = project
    return result


def _artifact(result: dict[str, object], triple: str) -> dict[str, str]:
    found = [a for a in result["artifacts"] if a["target"] == triple]  # type: ignore[attr-defined]
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


def test_one_command_one_archive_per_target(cross: dict[str, object], built_bundle: Built) -> None:
    assert [a["target"] for a in cross["artifacts"]] == [X86, ARM]  # type: ignore[attr-defined]
    x86, arm = _artifact(cross, X86), _artifact(cross, ARM)
    assert Path(arm["path"]).name == f"compiled-app-1.2.0-{ARM}.tar.zst"
    assert x86["smoke_test"] == "passed"
    assert arm["smoke_test"] == ("passed" if NO_QEMU is None else f"skipped: {NO_QEMU}")
    # The x86_64 archive of a multi-target build is the native single-target one.
    assert x86["sha256"] == built_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]


@pytest.mark.skipif(NO_QEMU is not None, reason=f"aarch64 does not run here: {NO_QEMU}")
def test_aarch64_bundle_runs_under_qemu_from_a_path_with_spaces(
    cross: dict[str, object], tmp_path: Path
) -> None:
    root = unpack(Path(_artifact(cross, ARM)["path"]), tmp_path / "dir with spaces" / "ünï")
    so = next((root / SITE / "markupsafe").glob("_speedups*.so"))
    assert so.name == "_speedups.cpython-311-aarch64-linux-gnu.so"
    assert identify(so).arches == ("aarch64",)  # type: ignore[union-attr]
    assert identify(root / "python/bin/python3.11").interp == "/lib/ld-linux-aarch64.so.1"  # type: ignore[union-attr]

    proc = run_app(root / "bin" / "compiled-app", "--exit", "7", "--stdin", "a b", stdin="héllo")
    assert proc.returncode == 7, proc.stderr
    report = app_report(proc)
    assert report["args"] == ["--stdin", "a b"] and report["stdin"] == "héllo"
    assert report["escaped"] == "&lt;b&gt;"
    assert Path(str(report["prefix"])) == root / "venv"
    assert Path(str(report["speedups"])) == so

    info = run_app(root / "bin" / "compiled-app", "self", "info")
    assert info.returncode == 0, info.stderr
    assert f"target        {ARM}\n" in info.stdout
    assert "python        3.11.2 " in info.stdout
    assert "smoke test    passed\n" in info.stdout
    verify = run_app(root / "bin" / "compiled-app", "self", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith(f"ok: {root} matches .pack/files")


def test_cross_install_of_the_host_target_is_byte_identical(
    built_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    """The host target built through the cross path (uv --python-platform, a stand-in
    interpreter behind the venv's symlink, fresh layers) equals the native build."""
    project = _project(tmp_path)
    cfg = load_config(project, {"python-archive": (str(python_archive),)})
    cache = tmp_path / "cache"
    ctx = Context(cache_dir=cache, environ=pack_env(cache))
    result = build(ctx, cfg, BuildOptions(refresh=True, cross_install=True))
    assert result.artifact.sha256 == built_bundle.result["artifacts"][0]["sha256"]  # type: ignore[index]
    assert result.artifacts[0].smoke_test == "passed"


def _planted_wheel(dest: Path) -> Path:
    """A wheel tagged pure Python that carries an x86_64 shared object (this interpreter's
    own `_json` module): the kind of mistake the guard exists for."""
    import _json

    so = Path(_json.__file__)
    wheel = dest / "planted-1.0-py3-none-any.whl"
    files = {
        "planted/__init__.py": b"",
        f"planted/{so.name}": so.read_bytes(),
        "planted-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: planted\nVersion: 1.0\n",
        "planted-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    import base64
    import hashlib

    record = ""
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{name},sha256={digest},{len(data)}\n"
    record += "planted-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("planted-1.0.dist-info/RECORD", record)
    return wheel


def test_guard_refuses_a_planted_x86_64_binary(
    python_archive: Path, aarch64_archive: Path, session_cache: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    wheel = _planted_wheel(project)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace("[tool.pack]\n", f'[tool.pack]\nlocal-extra-deps = ["{wheel.name}"]\n')
    )
    # x86_64 first: its archive is written, then removed when aarch64 fails.
    proc = run_pack(
        ["build", str(project), "--target", X86, "--target", ARM,
         "--python-archive", str(python_archive), "--python-archive", str(aarch64_archive)],
        session_cache,
    )  # fmt: skip
    assert proc.returncode != 0
    so = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".so"))
    assert proc.stderr.strip() == (
        f"error: the bundle for {ARM} contains binaries for another platform: "
        f"{SITE}/{so} (built for x86_64, the target is aarch64); the lock or a local extra "
        "brings a wheel of the wrong platform: fix it and build again"
    )
    dist = project / "dist"
    assert not dist.exists() or list(dist.iterdir()) == []


def _wheel_tag(root: Path, dist: str) -> str:
    (info,) = [p for p in (root / SITE).iterdir() if p.name.lower().startswith(f"{dist}-")]
    wheel = info / "WHEEL"
    return next(line for line in wheel.read_text().splitlines() if line.startswith("Tag: "))


def test_macos_and_musl_bundles_planned_laid_out_and_guarded(
    python_archive: Path, session_cache: Path, tmp_path: Path
) -> None:
    mac = make_foreign_archive(
        tmp_path / "pbs",
        "aarch64-apple-darwin",
        speedups(session_cache, "macosx_11_0_arm64", tmp_path / "bin"),
    )
    musl = make_foreign_archive(
        tmp_path / "pbs",
        "x86_64-unknown-linux-musl",
        speedups(session_cache, "musllinux_1_2_x86_64", tmp_path / "bin"),
    )
    project = _project(tmp_path)
    proc = run_pack(
        ["build", str(project), "--json",
         "--target", "aarch64-apple-darwin", "--target", "x86_64-unknown-linux-musl",
         "--python-archive", str(mac), "--python-archive", str(musl),
         "--python-archive", str(python_archive)],
        session_cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    smoke = {a["target"]: a["smoke_test"] for a in result["artifacts"]}
    assert smoke["aarch64-apple-darwin"] == (
        f"skipped: this {X86} host cannot run aarch64-apple-darwin binaries"
    )
    if not Path("/lib/ld-musl-x86_64.so.1").exists():
        assert smoke["x86_64-unknown-linux-musl"] == (
            "skipped: x86_64-unknown-linux-musl binaries need /lib/ld-musl-x86_64.so.1, which "
            "this host does not have"
        )
    assert "not smoke-testing the aarch64-apple-darwin bundle: " in proc.stderr

    for triple, tag, fmt in (
        ("aarch64-apple-darwin", "Tag: cp311-cp311-macosx_11_0_arm64", "mach-o"),
        ("x86_64-unknown-linux-musl", "Tag: cp311-cp311-musllinux_1_2_x86_64", "elf"),
    ):
        root = unpack(Path(_artifact(result, triple)["path"]), tmp_path / triple)
        assert _wheel_tag(root, "markupsafe") == tag
        so = next((root / SITE / "markupsafe").glob("_speedups*.so"))
        assert identify(so).format == fmt  # type: ignore[union-attr]
        assert (root / "venv/bin/python").readlink().as_posix() == "../../python/bin/python3.11"
        info = json.loads((root / ".pack/bundle.json").read_text())
        assert info["target"] == triple and info["python"]["version"] == "3.11.9"
        assert info["smoke_test"] == smoke[triple]
        # Bytecode compiled by the host's 3.11, stripped of build paths, for every layer.
        assert list((root / "python/lib/python3.11/__pycache__").glob("os.cpython-311.pyc"))
        assert list((root / SITE / "compiled_app/__pycache__").glob("main.cpython-311.pyc"))
        assert (root / "bin/compiled-app").read_bytes().startswith(b"#!/bin/sh\n")
        for script in (root / "venv/bin").iterdir():
            if not script.is_symlink():
                assert script.read_bytes().startswith(b"#!/bin/sh\n"), script
        inspect = run_pack(["inspect", str(_artifact(result, triple)["path"])], session_cache)
        assert inspect.returncode == 0, inspect.stderr
        assert f"compiled-app 1.2.0 for {triple}\n" in inspect.stdout
        assert f"  smoke test {smoke[triple]}\n" in inspect.stdout


def test_fetch_for_aarch64_then_build_offline(
    cross: dict[str, object],
    python_archive: Path,
    aarch64_archive: Path,
    session_cache: Path,
    tmp_path: Path,
) -> None:
    """`pack fetch --target aarch64` fills a wheelhouse (both interpreters, the aarch64
    wheel, the build backend) from which an offline build with an empty cache gives the same
    archive as the online one."""
    project = _project(tmp_path)
    archives = ["--python-archive", str(python_archive), "--python-archive", str(aarch64_archive)]
    house = tmp_path / "house"
    fetched = run_pack(
        ["fetch", str(project), "--dest", str(house), "--target", ARM, "--json", *archives],
        session_cache,
    )
    assert fetched.returncode == 0, fetched.stderr
    names = {p.name for p in house.iterdir()}
    assert {python_archive.name, aarch64_archive.name} <= names
    assert any(n.endswith("manylinux_2_17_aarch64.manylinux2014_aarch64.whl") for n in names)
    assert any(n.startswith("hatchling-") for n in names)
    copied = [
        "--python-archive", str(house / python_archive.name),
        "--python-archive", str(house / aarch64_archive.name),
    ]  # fmt: skip
    offline = run_pack(
        ["build", str(project), "--json", "--offline", "--target", ARM,
         "--find-links", str(house), *copied],
        tmp_path / "empty-cache",
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    built = json.loads(offline.stdout)["artifacts"][0]
    assert built["sha256"] == _artifact(cross, ARM)["sha256"]


HOOK = '''from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class PlatformWheel(BuildHookInterface):
    """Tags the wheel for this interpreter and platform, as a compiled extension would."""

    def initialize(self, version, build_data):
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
'''


def test_a_platform_wheel_of_the_project_is_refused_for_another_target(
    python_archive: Path, aarch64_archive: Path, session_cache: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    (project / "hatch_build.py").write_text(HOOK)
    with (project / "pyproject.toml").open("a") as f:
        f.write("\n[tool.hatch.build.hooks.custom]\n")
    proc = run_pack(
        ["build", str(project), "--target", ARM,
         "--python-archive", str(python_archive), "--python-archive", str(aarch64_archive)],
        session_cache,
    )  # fmt: skip
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert message.startswith("error: compiled_app-1.2.0-cp311-cp311-linux_x86_64.whl is built ")
    assert message.endswith(
        f"for this host, not {ARM}; a wheel with compiled code cannot be built for another "
        "platform here: build it on the target platform itself and pass that wheel in "
        "local-extra-deps"
    )
    dist = project / "dist"
    assert not dist.exists() or list(dist.iterdir()) == []
