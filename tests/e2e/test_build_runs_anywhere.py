"""A built bundle runs from wherever it is unpacked, however it is reached, whatever the host
environment: each test unpacks the session's archive with the system tar and runs a launcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.bundles import Built, app_report, bwrap_argv, listing, run_app, unpack


@pytest.fixture
def bundle(built_bundle: Built, tmp_path: Path) -> Path:
    return unpack(built_bundle.archive, tmp_path / "unpacked")


def _assert_inside(report: dict[str, object], root: Path) -> None:
    root = root.resolve()
    assert Path(str(report["prefix"])).resolve() == root / "venv"
    assert Path(str(report["base_prefix"])).resolve() == root / "python"
    assert Path(str(report["speedups"])).resolve().is_relative_to(root)
    assert report["bundle_root"] == str(root)
    for entry in report["path"]:  # type: ignore[attr-defined]
        assert Path(entry).resolve().is_relative_to(root), entry


def test_archive_has_one_top_folder_named_after_the_app(built_bundle: Built) -> None:
    names = subprocess.run(
        ["tar", "--zstd", "-tf", built_bundle.archive], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {n.split("/")[0] for n in names} == {"compiled-app-1.2.0"}
    assert built_bundle.archive.name == "compiled-app-1.2.0-x86_64-unknown-linux-gnu.tar.zst"
    sidecar = built_bundle.archive.with_name(built_bundle.archive.name + ".sha256")
    check = subprocess.run(
        ["sha256sum", "-c", sidecar.name], cwd=sidecar.parent, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_layout_is_relative_and_minimal(bundle: Path) -> None:
    assert (bundle / "venv/bin/python").readlink().as_posix() == "../../python/bin/python3.11"
    cfg = (bundle / "venv/pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    assert "home" not in cfg
    for launcher in ("compiled-app", "compiled-admin"):
        text = (bundle / "bin" / launcher).read_text()
        assert text.startswith("#!/bin/sh\n")
        assert "readlink -f" not in text
    for script in (bundle / "venv/bin").iterdir():
        if not script.is_symlink():
            assert script.read_bytes().startswith(b"#!/bin/sh\n"), script


def test_runs_from_unpack_path_with_args_stdin_and_exit_code(bundle: Path) -> None:
    proc = run_app(
        bundle / "bin/compiled-app",
        "--exit",
        "7",
        "--stdin",
        "a b",
        'it\'s "quoted"',
        "",
        stdin="piped\nlines\n",
    )
    assert proc.returncode == 7
    report = app_report(proc)
    assert report["args"] == ["--stdin", "a b", 'it\'s "quoted"', ""]
    assert report["stdin"] == "piped\nlines\n"
    assert report["escaped"] == "&lt;b&gt;"
    assert report["argv0"] == str(bundle / "bin/compiled-app")
    _assert_inside(report, bundle)
    admin = run_app(bundle / "bin/compiled-admin", "x", "y z")
    assert admin.returncode == 0 and admin.stdout == "admin:x y z\n"


def test_runs_after_moving_to_a_path_with_spaces_and_non_ascii(
    bundle: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "dir with spaces" / "ünïcødé ✓" / "app"
    moved.parent.mkdir(parents=True)
    shutil.move(bundle, moved)
    report = app_report(run_app(moved / "bin/compiled-app", "ok"))
    _assert_inside(report, moved)


def test_runs_through_symlinks_from_another_directory(bundle: Path, tmp_path: Path) -> None:
    links = tmp_path / "usr-local-bin"
    links.mkdir()
    (links / "absolute-link").symlink_to(bundle / "bin/compiled-app")
    (links / "relative-link").symlink_to(os.path.relpath(bundle / "bin/compiled-app", links))
    (links / "chained").symlink_to("relative-link")
    for name in ("absolute-link", "relative-link", "chained"):
        report = app_report(run_app(links / name, "via", name))
        _assert_inside(report, bundle)
    # Found on PATH by name, as an operator would run it.
    env = {"PATH": f"{links}:/usr/bin:/bin"}
    proc = subprocess.run(["chained", "x"], env=env, capture_output=True, text=True, check=False)
    _assert_inside(app_report(proc), bundle)
    # Through a symlinked directory (a `current -> 1.2.0` style switch).
    current = tmp_path / "current"
    current.symlink_to(bundle)
    _assert_inside(app_report(run_app(current / "bin/compiled-app")), bundle)


def test_read_only_copy_runs_and_stays_unchanged(bundle: Path) -> None:
    before = listing(bundle)
    subprocess.run(["chmod", "-R", "a-w", bundle], check=True)
    try:
        report = app_report(run_app(bundle / "bin/compiled-app"))
        _assert_inside(report, bundle)
        # root ignores permissions, so also run it from a read-only mount.
        proc = subprocess.run(
            bwrap_argv(
                [str(bundle / "bin/compiled-app"), "ro"], ro_bind=[bundle], hide_python=False
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        _assert_inside(app_report(proc), bundle)
        assert run_app(bundle / "bin/compiled-admin").returncode == 0
    finally:
        subprocess.run(["chmod", "-R", "u+w", bundle], check=True)
    after = listing(bundle)
    assert set(after) == set(before), sorted(set(after) ^ set(before))
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}


def test_hostile_python_environment_is_ignored(bundle: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    (junk / "markupsafe").mkdir(parents=True)
    (junk / "markupsafe" / "__init__.py").write_text(
        "raise SystemExit('junk markupsafe imported')\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(junk),
        "PYTHONHOME": str(junk),
        "PYTHONSTARTUP": str(junk / "x.py"),
        "PYTHONNOUSERSITE": "",
        "PYTHONUSERBASE": str(junk),
        "VIRTUAL_ENV": str(junk),
    }
    report = app_report(run_app(bundle / "bin/compiled-app", env=env, cwd=junk))
    _assert_inside(report, bundle)
    # The app's children do not inherit the junk either.
    assert report["pythonpath"] is None and report["pythonhome"] is None


def test_runs_on_a_host_without_python(bundle: Path) -> None:
    hidden_check = subprocess.run(
        bwrap_argv(
            ["sh", "-c", "command -v python3 python3.11 python; ls /usr/lib/python3*/os.py; true"]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert hidden_check.stdout.strip() == "", hidden_check.stdout
    probe = subprocess.run(
        bwrap_argv([sys.executable, "-c", "print(1)"]), capture_output=True, text=True, check=False
    )
    assert probe.returncode != 0, "the host interpreter is still reachable inside the sandbox"
    proc = subprocess.run(
        bwrap_argv([str(bundle / "bin/compiled-app"), "sandboxed"], ro_bind=[bundle]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    _assert_inside(app_report(proc), bundle)


def test_bundle_never_mentions_the_build_machine(built_bundle: Built, bundle: Path) -> None:
    needles = {
        "build dir": str(built_bundle.project).encode(),
        "cache": str(built_bundle.cache_dir).encode(),
        "host prefix": sys.base_prefix.encode(),
        "repo": str(Path(__file__).resolve().parents[2]).encode(),
    }
    hits: list[str] = []
    for path in sorted(bundle.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        hits += [
            f"{path.relative_to(bundle)} contains the {what}"
            for what, needle in needles.items()
            if needle in data
        ]
    assert hits == []


def test_third_party_console_script_from_a_pylock(thirdparty_bundle: Built, tmp_path: Path) -> None:
    root = unpack(thirdparty_bundle.archive, tmp_path / "u")
    assert sorted(p.name for p in (root / "bin").iterdir()) == ["pyflakes"]
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    proc = run_app(root / "bin/pyflakes", str(bad))
    assert proc.returncode == 1
    assert "'os' imported but unused" in proc.stdout
    ok = tmp_path / "ok.py"
    ok.write_text("print(1)\n")
    assert run_app(root / "bin/pyflakes", str(ok)).returncode == 0
