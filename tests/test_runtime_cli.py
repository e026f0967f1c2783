"""The stub's command line (`<app> self info|verify|python|...`, pack_runtime/cli.py) against a
runnable synthetic bundle: what each command prints, exit codes, one-line errors, finding
the bundle root, and running on other Pythons without writing into the bundle."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pack_runtime import cli
from tests.helpers.stub import (
    OTHER_PYTHONS,
    launch,
    modify_app,
    stub,
)
from tests.helpers.synthetic import TARGET, runnable_bundle


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return runnable_bundle(tmp_path)


def test_info_json_is_bundle_json_plus_root(bundle: Path) -> None:
    r = stub(bundle, "info", "--json")
    assert r.code == 0, r.err
    shown = json.loads(r.out)
    expected = json.loads((bundle / ".pack" / "bundle.json").read_text())
    assert shown.pop("root") == str(bundle)
    assert shown == expected


def test_info_human_lists_the_essentials(bundle: Path) -> None:
    r = stub(bundle, "info")
    assert r.code == 0, r.err
    lines = dict(line.split(None, 1) for line in r.out.splitlines() if not line.startswith("entry"))
    assert lines["name"] == "demo"
    assert lines["version"] == "1.0"
    assert lines["target"] == TARGET
    assert lines["python"].endswith("(cpython, build 20990101, install_only)")
    assert lines["root"] == str(bundle)
    assert lines["lock"] == f"uv.lock (uv), sha256 {'cd' * 32}"
    assert "entry points  demo -> demo_app:main" in r.out


def test_info_human_lists_local_packages_and_stripped_parts(bundle: Path) -> None:
    path = bundle / ".pack" / "bundle.json"
    info = json.loads(path.read_text())
    assert "local packages" not in stub(bundle, "info").out
    info["local_packages"] = [
        {"name": "lib", "version": "0.1", "path": "packages/lib", "sha256": "ab" * 32},
        {"name": "util", "version": "2.0", "path": "../util", "sha256": "cd" * 32},
    ]
    info["strip"] = ["test", "idlelib"]
    path.write_text(json.dumps(info))
    r = stub(bundle, "info")
    assert r.code == 0, r.err
    assert "local packages  lib 0.1 (packages/lib), util 2.0 (../util)\n" in r.out
    assert "stripped        test, idlelib\n" in r.out


def test_verify_passes_on_an_intact_bundle(bundle: Path) -> None:
    r = stub(bundle, "verify")
    assert (r.code, r.out) == (0, f"ok: {bundle} matches .pack/files\n")


def _chmod(root: Path) -> str:
    (root / "venv/lib/python3.11/site-packages/six.py").chmod(0o755)
    return "venv/lib/python3.11/site-packages/six.py"


def _retarget(root: Path) -> str:
    link = root / "venv/bin/python"
    link.unlink()
    link.symlink_to("../../python/bin/python3.11-other")
    return "venv/bin/python"


def _delete(root: Path) -> str:
    (root / "venv/lib/python3.11/site-packages/six.py").unlink()
    return "venv/lib/python3.11/site-packages/six.py"


def _add(root: Path) -> str:
    (root / "venv/lib/python3.11/site-packages/evil.pth").write_text("import os\n")
    return "venv/lib/python3.11/site-packages/evil.pth"


@pytest.mark.parametrize(
    ("tamper", "label"),
    [
        (modify_app, "modified"),
        (_chmod, "modified"),
        (_retarget, "modified"),
        (_delete, "missing"),
        (_add, "unexpected"),
    ],
)
def test_verify_names_each_kind_of_tampering(
    bundle: Path, tamper: Callable[[Path], str], label: str
) -> None:
    path = tamper(bundle)
    r = stub(bundle, "verify")
    assert r.code == 1
    assert r.out == f"{label:<10} {path}\n"
    assert r.err == f"{bundle} differs from .pack/files: 1 {label}, e.g. {path}\n"


def test_python_path_is_the_venv_interpreter(bundle: Path) -> None:
    r = stub(bundle, "python-path")
    assert (r.code, r.out) == (0, f"{bundle}/venv/bin/python\n")


def test_python_runs_the_bundle_interpreter_with_args_verbatim(bundle: Path) -> None:
    code = "import sys; print(sys.executable); print(sys.prefix); print(sys.argv[1:])"
    proc = launch(
        bundle / "bin/demo",
        "self",
        "python",
        "-c",
        code,
        "-v",
        "--yes",
        "x y",
        PYTHONHOME="/nonexistent",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{bundle}/venv/bin/python",
        f"{bundle}/venv",
        "['-v', '--yes', 'x y']",
    ]


def test_python_without_args_reads_stdin_like_the_interpreter(bundle: Path) -> None:
    proc = subprocess.run(
        [bundle / "bin/demo", "self", "python"],
        input="import sys\nprint(6 * 7, sys.prefix)\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, f"42 {bundle}/venv\n")


def test_running_the_stub_writes_nothing_in_the_bundle(bundle: Path) -> None:
    for args in (["info"], ["verify"], ["packages"], ["python-path"]):
        proc = launch(bundle / "bin/demo", "self", *args)
        assert proc.returncode == 0, proc.stderr
    assert stub(bundle, "verify").code == 0


def test_self_command_is_the_launcher_s_and_others_reach_the_app(tmp_path: Path) -> None:
    root = runnable_bundle(tmp_path, self_command="manage")
    assert launch(root / "bin/demo", "self").stdout == "demo 1.0\n"
    proc = launch(root / "bin/demo", "manage", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: demo manage [-h] [-v] COMMAND")


@pytest.mark.parametrize("python", OTHER_PYTHONS)
def test_the_stub_runs_on_other_pythons_without_warnings(tmp_path: Path, python: Path) -> None:
    root = runnable_bundle(tmp_path, python=python)
    for args in (["info", "--json"], ["verify"], ["packages"]):
        # Directly rather than through the launcher, to turn warnings into errors.
        proc = subprocess.run(
            [root / "venv/bin/python", "-W", "error", "-I", root / ".pack/runtime", *args],
            capture_output=True,
            text=True,
            env={"PACK_BUNDLE_ROOT": str(root), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert (proc.returncode, proc.stderr) == (0, ""), args
    code = "import sys; print(sys.version_info[:2])"
    proc = launch(root / "bin/demo", "self", "python", "-c", code)
    assert proc.stdout == "({}, {})\n".format(*python.name.removeprefix("python").split("."))


def test_missing_command_is_a_usage_error(bundle: Path) -> None:
    r = stub(bundle)
    assert r.code == 2
    assert r.err.endswith("demo self: a command is needed; `demo self --help` lists them\n")


def test_errors_are_one_line_without_traceback_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = stub(tmp_path / "empty", "info")
    assert r.code == 1
    missing = tmp_path / "empty/.pack/bundle.json"
    assert r.err == f"error: {missing}: cannot be read (No such file or directory)\n"
    for verbose in (
        stub(tmp_path / "empty", "-v", "info"),
        stub(tmp_path / "empty", "info", "--verbose"),
        stub(tmp_path / "empty", "info", PACK_DEBUG="1"),
    ):
        assert verbose.err.startswith("Traceback (most recent call last):\n")
        assert verbose.err.endswith(r.err)


def test_without_the_launcher_s_variable_the_root_is_found_from_the_stub(bundle: Path) -> None:
    proc = subprocess.run(
        [bundle / "venv/bin/python", "-I", bundle / ".pack/runtime", "python-path"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, f"{bundle}/venv/bin/python\n")


def test_outside_a_bundle_without_the_variable_is_refused() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["info"], {}, cli.Console(out, err, io.StringIO()))
    assert code == 2
    assert err.getvalue() == (
        "error: PACK_BUNDLE_ROOT is not set and this stub is not inside a bundle; run it through "
        "the bundle's launcher: <app> self ...\n"
    )
