"""`pack run`: the app's entry point, another one, or any command, in the cached layers plus
the project, with arguments, stdin and the exit status passed through, and the cache left
exactly as it was (the project is never installed into it)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from packager import cache as cache_mod
from tests.helpers.bundles import APPS, PACK, Built, pack_env, run_pack


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("run") / "compiled"
    shutil.copytree(APPS / "compiled", dest, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return dest


def _envs(cache: Path) -> dict[str, int]:
    return {
        p.parent.name: p.stat().st_ino
        for p in (cache / cache_mod.ENVS).glob(f"*/{cache_mod.MARKER}")
    }


def test_run_the_app_with_args_stdin_and_exit_status(
    project: Path, built_bundle: Built, python_archive: Path
) -> None:
    cache = built_bundle.cache_dir
    before = _envs(cache)
    # No PROJECT_DIR: the current directory; everything after `--` is the app's.
    proc = subprocess.run(
        [
            *PACK,
            "run",
            "--python-archive",
            str(python_archive),
            "--",
            "--exit",
            "7",
            "--stdin",
            "x y",
        ],
        cwd=project,
        env=pack_env(cache, PYTHONPATH="/nonexistent"),
        input="piped\n",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 7, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["argv0"] == "compiled-app"
    assert report["args"] == ["--stdin", "x y"]
    assert report["stdin"] == "piped\n"
    assert report["escaped"] == "&lt;b&gt;"
    assert report["pythonpath"] is None  # isolated, as the bundle's launcher is
    # The app runs from a throwaway venv laid out like a bundle; its dependencies are the
    # cached environment's, which stays as it was.
    prefix = Path(report["prefix"])
    assert prefix.name == "venv" and Path(report["base_prefix"]) == prefix.parent / "python"
    assert not prefix.exists()  # removed after the run
    env_entry = Path(report["speedups"]).parents[5]
    assert env_entry.parent == cache / cache_mod.ENVS
    assert _envs(cache) == before
    assert not list(env_entry.rglob("compiled_app*"))


def test_run_another_entry_point(project: Path, built_bundle: Built, python_archive: Path) -> None:
    proc = run_pack(
        [
            "run",
            str(project),
            "--python-archive",
            str(python_archive),
            "--entry",
            "compiled-admin",
            "--",
            "a",
            "--b",
        ],
        built_bundle.cache_dir,
    )
    assert (proc.returncode, proc.stdout) == (0, "admin:a --b\n"), proc.stderr

    proc = run_pack(
        ["run", str(project), "--python-archive", str(python_archive), "--entry", "nope"],
        built_bundle.cache_dir,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --entry nope: no console script of that name is installed; available: "
        "compiled-admin, compiled-app"
    )


def test_run_any_command_with_path_prepended(
    project: Path, built_bundle: Built, python_archive: Path
) -> None:
    code = (
        "import os, shutil, sys, compiled_app, markupsafe; "
        "print(json.dumps([sys.prefix, shutil.which('compiled-admin'), "
        "os.environ['PATH'].split(os.pathsep)[0]])); sys.exit(5)"
    )
    proc = run_pack(
        [
            "run",
            str(project),
            "--python-archive",
            str(python_archive),
            "--python",
            "--",
            "python",
            "-c",
            "import json; " + code,
        ],
        built_bundle.cache_dir,
    )
    assert proc.returncode == 5, proc.stderr
    prefix, admin, first = json.loads(proc.stdout)
    assert Path(admin) == Path(prefix) / "bin" / "compiled-admin"
    assert first == str(Path(prefix) / "bin")

    proc = run_pack(
        [
            "run",
            str(project),
            "--python-archive",
            str(python_archive),
            "--python",
            "--",
            "sh",
            "-c",
            "kill -9 $$",
        ],
        built_bundle.cache_dir,
    )
    assert proc.returncode == 128 + 9


def _run_python(project: Path, python_archive: Path, code: str) -> list[str]:
    return [
        *PACK, "run", str(project), "--python-archive", str(python_archive), "--python", "--",
        "python", "-c", code,
    ]  # fmt: skip


def test_the_child_handles_ctrl_c_itself(
    project: Path, built_bundle: Built, python_archive: Path
) -> None:
    # pack ignores SIGINT while it waits; the child must not inherit that (a Python child
    # would then ignore Ctrl-C). pack starts as from a terminal, with SIGINT at its default
    # (a test run in a background job inherits it ignored, and so would pack and its child).
    code = "import signal; print(signal.getsignal(signal.SIGINT).__name__)"
    proc = subprocess.run(
        _run_python(project, python_archive, code),
        env=pack_env(built_bundle.cache_dir),
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "default_int_handler"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_sent_to_pack_reach_the_child(
    project: Path, built_bundle: Built, python_archive: Path, signum: int
) -> None:
    code = (
        "import signal, sys, time; "
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42)); "
        "signal.signal(signal.SIGHUP, lambda *a: sys.exit(43)); "
        "print('ready', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen(
        _run_python(project, python_archive, code),
        env=pack_env(built_bundle.cache_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signum)  # to pack alone, as `kill PID` or a CI runner does
        assert proc.wait(timeout=60) == (42 if signum == signal.SIGTERM else 43)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
