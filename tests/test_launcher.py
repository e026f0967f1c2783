"""The sh launcher, rendered and run for real: a minimal bundle whose venv interpreter is the
host's, so every launcher setting (env, prepend-path, isolation, the self command, symlinks,
hosts without readlink) is exercised in milliseconds instead of a full build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from packager.launcher import EntryPoint, LauncherSettings, python_code, render_launcher

PROBE = """
import json, os, sys
def main():
    print(json.dumps({
        "argv": sys.argv,
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("PACK_", "GREETING", "EMPTY", "PYTHON"))},
        "path": os.environ.get("PATH", ""),
        "flags_isolated": sys.flags.isolated,
        "sys_path": sys.path,
    }))
    return int(os.environ.get("PROBE_EXIT", "0"))
"""

SELF_MAIN = """
import json, os, sys
env = os.environ
print(json.dumps({"self_args": sys.argv[1:], "launcher": env.get("PACK_LAUNCHER"),
                  "group": env.get("PACK_SELF_COMMAND"), "root": env.get("PACK_BUNDLE_ROOT")}))
"""


def make_bundle(tmp: Path, **settings: object) -> Path:
    root = tmp / "bundle"
    site = (
        root
        / "venv"
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
    )
    site.mkdir(parents=True)
    (root / "venv" / "bin").mkdir()
    real = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    )
    (root / "venv" / "bin" / "python").symlink_to(real)
    (root / "venv" / "pyvenv.cfg").write_text(
        f"home = {real.parent}\ninclude-system-site-packages = false\n"
    )
    (site / "probe_app.py").write_text(PROBE)
    (root / ".pack" / "runtime").mkdir(parents=True)
    (root / ".pack" / "runtime" / "__main__.py").write_text(SELF_MAIN)
    (root / "bin").mkdir()
    options: dict[str, object] = {"python_minor": sys.version_info[:2], **settings}
    launcher = root / "bin" / "probe"
    probe = EntryPoint("probe", "probe_app", "main", "probe")
    launcher.write_bytes(
        render_launcher(probe, LauncherSettings(name="probe", version="1.0", **options))  # type: ignore[arg-type]
    )
    launcher.chmod(0o755)
    return root


def run(
    launcher: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    base = {"PATH": "/usr/bin:/bin"}
    base.update(env or {})
    proc = subprocess.run(
        [str(launcher), *args], env=base, capture_output=True, text=True, check=False
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_entry_point_code_forms() -> None:
    assert (
        python_code(EntryPoint("a", "pkg.mod", "main", "d"))
        == "import sys;del sys.argv[0];from pkg.mod import main;sys.exit(main())"
    )
    assert "from pkg import obj;sys.exit(obj.method())" in python_code(
        EntryPoint("a", "pkg", "obj.method", "d")
    )
    assert "'" not in python_code(EntryPoint("a", "pkg.__main__", "", "d"))
    assert EntryPoint.parse("x", "pkg.cli:app.run [extra]", "d") == EntryPoint(
        "x", "pkg.cli", "app.run", "d"
    )


def test_env_and_prepend_path_are_applied(tmp_path: Path) -> None:
    root = make_bundle(
        tmp_path,
        env={"GREETING": 'it\'s a "test" $HOME `x`', "EMPTY": ""},
        prepend_path=("tools/bin", "extra"),
    )
    code, out = run(root / "bin/probe", "a b")
    assert code == 0
    env = out["env"]
    assert isinstance(env, dict)
    assert env["GREETING"] == 'it\'s a "test" $HOME `x`'
    assert env["EMPTY"] == ""
    real_root = str(root.resolve())
    assert env["PACK_BUNDLE_ROOT"] == real_root
    assert out["path"] == f"{real_root}/tools/bin:{real_root}/extra:/usr/bin:/bin"
    assert out["argv"] == [str(root / "bin/probe"), "a b"]


def test_isolated_ignores_and_drops_pythonpath(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    _, out = run(root / "bin/probe", env={"PYTHONPATH": "/junk", "PYTHONHOME": "/junk"})
    assert out["flags_isolated"] == 1
    assert "/junk" not in out["sys_path"]  # type: ignore[operator]
    assert "PYTHONPATH" not in out["env"] and "PYTHONHOME" not in out["env"]  # type: ignore[operator]


def test_not_isolated_keeps_pythonpath_but_not_cwd(tmp_path: Path) -> None:
    root = make_bundle(tmp_path, isolated=False)
    extra = tmp_path / "extra"
    extra.mkdir()
    _, out = run(root / "bin/probe", env={"PYTHONPATH": str(extra), "PYTHONHOME": "/junk"})
    assert out["flags_isolated"] == 0
    assert str(extra) in out["sys_path"]  # type: ignore[operator]
    assert "" not in out["sys_path"]  # type: ignore[operator]
    assert out["env"]["PYTHONPATH"] == str(extra)  # type: ignore[index]
    assert "PYTHONHOME" not in out["env"]  # type: ignore[operator]


def test_exit_code_is_the_apps(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    code, _ = run(root / "bin/probe", env={"PROBE_EXIT": "42"})
    assert code == 42


@pytest.mark.parametrize("group", ["self", "manage"])
def test_self_command_dispatches_to_the_runtime_stub(tmp_path: Path, group: str) -> None:
    root = make_bundle(tmp_path, self_command=group)
    code, out = run(root / "bin/probe", group, "info", "--json")
    assert code == 0
    assert out == {
        "self_args": ["info", "--json"],
        "launcher": "probe",
        "group": group,
        "root": str(root.resolve()),
    }
    # The word only counts in first position.
    _, out = run(root / "bin/probe", "x", group)
    assert out["argv"][1:] == ["x", group]  # type: ignore[index]


def test_self_command_can_be_turned_off(tmp_path: Path) -> None:
    root = make_bundle(tmp_path, self_command="")
    _, out = run(root / "bin/probe", "self", "info")
    assert out["argv"][1:] == ["self", "info"]  # type: ignore[index]


def test_symlinks_resolved_without_readlink(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    # A PATH with sh and ls but no readlink: the launcher falls back to parsing `ls -ld`.
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("ls",):
        (tools / tool).symlink_to(
            f"/bin/{tool}" if Path(f"/bin/{tool}").exists() else f"/usr/bin/{tool}"
        )
    links = tmp_path / "links"
    links.mkdir()
    (links / "one").symlink_to(os.path.relpath(root / "bin/probe", links))
    (links / "two").symlink_to("one")
    code, out = run(links / "two", "hi", env={"PATH": str(tools)})
    assert code == 0
    assert out["env"]["PACK_BUNDLE_ROOT"] == str(root.resolve())  # type: ignore[index]


HOSTILE = "$(touch pwned1)`touch pwned2`'\"\\\nsecond line; touch pwned3 @CODE@"


def test_configuration_is_quoted_whatever_it_holds(tmp_path: Path) -> None:
    root = make_bundle(
        tmp_path,
        env={"GREETING": HOSTILE},
        prepend_path=("tools$(touch pwned4)", "new\nline", "q'uote", "`touch pwned5`"),
    )
    work = tmp_path / "cwd"
    work.mkdir()
    proc = subprocess.run(
        [root / "bin/probe"],
        cwd=work,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["env"]["GREETING"] == HOSTILE
    real = str(root.resolve())
    dirs = ["tools$(touch pwned4)", "new\nline", "q'uote", "`touch pwned5`"]
    assert out["path"] == ":".join(f"{real}/{d}" for d in dirs) + ":/usr/bin:/bin"
    assert list(work.iterdir()) == []
    assert not list(tmp_path.rglob("pwned*"))


def test_names_in_the_header_comment_cannot_add_lines(tmp_path: Path) -> None:
    text = render_launcher(
        EntryPoint("probe", "probe_app", "main", "probe"),
        LauncherSettings(name="x\ntouch pwned", version="1\r\n2", python_minor=(3, 11)),
    ).decode()
    assert "\ntouch pwned" not in text
    assert text.splitlines()[1].startswith(
        "# probe: launcher of a pack bundle (x?touch pwned 1??2)"
    )


@pytest.mark.parametrize(
    "dirname",
    [
        "ends in a newline\n",
        "$(touch pwned) `x` 'q' \"d\" \\ * ? [a] ~ -x",
        " leading space\ttab",
    ],
    ids=["newline", "shell-characters", "whitespace"],
)
def test_any_byte_in_the_bundle_path(tmp_path: Path, dirname: str) -> None:
    root = make_bundle(tmp_path)
    moved = root.rename(tmp_path / dirname)
    links = tmp_path / "links"
    links.mkdir()
    (links / "app\n").symlink_to(moved / "bin" / "probe")
    for launcher in (moved / "bin" / "probe", links / "app\n"):
        code, out = run(launcher, "arg")
        assert code == 0
        assert out["env"]["PACK_BUNDLE_ROOT"] == str(moved.resolve())  # type: ignore[index]
    assert not list(tmp_path.rglob("pwned*"))


def test_a_non_utf8_byte_in_the_bundle_path(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    odd = os.fsencode(tmp_path) + b"/caf\xe9-\xff"
    os.rename(os.fsencode(root), odd)  # noqa: PTH104 (a bytes path Path cannot hold)
    proc = subprocess.run(
        [odd + b"/bin/probe"], env={"PATH": "/usr/bin:/bin"}, capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["env"]["PACK_BUNDLE_ROOT"]
    assert os.fsencode(shown) == odd


def test_an_unresolvable_symlink_is_an_error_not_a_guess(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    # Beside the link, a planted venv/bin/python that a guessed root would run.
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    planted = tmp_path / "venv" / "bin" / "python"
    planted.write_text(f"#!/bin/sh\ntouch {tmp_path}/pwned\n")
    planted.chmod(0o755)
    links = tmp_path / "links"
    links.mkdir()
    (links / "app").symlink_to(root / "bin" / "probe")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run(
        [links / "app"], env={"PATH": str(empty)}, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 127
    assert proc.stderr == (
        f"probe: cannot resolve the symlink {links}/app (no working readlink or ls on PATH, "
        "or a loop)\n"
    )
    assert not (tmp_path / "pwned").exists()


def test_a_symlink_loop_is_an_error(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    launcher = (tmp_path / "bundle" / "bin" / "probe").read_bytes()
    script = tmp_path / "run-loop"
    script.write_bytes(launcher)
    script.chmod(0o755)
    # Run the launcher's text with $0 pointing at the loop.
    proc = subprocess.run(
        ["/bin/sh", "-c", f'. "{script}"', str(tmp_path / "a")],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 127
    assert "cannot resolve the symlink" in proc.stderr
