"""The self-management stub (`<app> self ...`) against synthetic bundles with the real layout:
a copied interpreter behind `venv/bin/python`, the real launcher and the real stub, archived
with pack's own writer and served over HTTP on 127.0.0.1."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pack_runtime import archive as archive_mod
from pack_runtime import cli
from pack_runtime.errors import ChecksumError, StubError
from pack_runtime.filelist import write_files_list
from packager.archive import ArchiveOptions, Format, write_archive
from packager.launcher import Launchable as LauncherEntry
from packager.launcher import LauncherSettings, render_launcher
from packager.manifest import BuildInfo, BundleManifest, EntryPoint, LockRef, PythonBuild
from tests.helpers.http_server import Server, serve
from tests.helpers.synthetic import add_dist
from tests.helpers.tls import LocalCA, server_context

REPO = Path(__file__).resolve().parents[1]
TARGET = "x86_64-unknown-linux-gnu"
HOST_PY = Path(os.path.realpath(sys.executable))
_PYENV = Path.home() / ".pyenv" / "versions"
# The stub runs on whatever CPython the bundle carries: the oldest supported and the newest
# at hand, where this host has them.
OTHER_PYTHONS = [
    pytest.param(found[-1], id=minor)
    for minor in ("3.9", "3.13")
    if (found := sorted(_PYENV.glob(f"{minor}.*/bin/python{minor}")))
]


def make_bundle(
    parent: Path,
    *,
    name: str = "demo",
    version: str = "1.0",
    dirname: str | None = None,
    python: Path = HOST_PY,
    self_command: str = "self",
    main_code: str | None = None,
) -> Path:
    """A bundle tree as pack lays it out. `python/bin/` holds a copy of a host interpreter
    binary; pyvenv.cfg keeps `home` so that copy finds the host's standard library (a real
    bundle carries its own and has no `home`)."""
    root = parent / (dirname or f"{name}-{version}")
    minor = python.name.removeprefix("python")
    (root / "python" / "bin").mkdir(parents=True)
    shutil.copy2(python, root / "python" / "bin" / python.name)
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(f"../../python/bin/{python.name}")
    (venv / "pyvenv.cfg").write_text(
        f"home = {python.parent}\ninclude-system-site-packages = false\n"
    )
    site = venv / "lib" / f"python{minor}" / "site-packages"
    site.mkdir(parents=True)
    code = main_code or f"def main():\n    print({f'{name} {version}'!r})\n    return 0\n"
    add_dist(site, name, version, {"demo_app.py": code.encode()})
    add_dist(site, "six", "1.16.0", {"six.py": b"# six\n"})

    launcher = root / "bin" / "demo"
    launcher.parent.mkdir()
    launcher.write_bytes(
        render_launcher(
            LauncherEntry("demo", "demo_app", "main", name),
            LauncherSettings(
                name=name,
                version=version,
                self_command=self_command,
                python_minor=(3, int(minor.split(".")[1])),
            ),
        )
    )
    launcher.chmod(0o755)

    runtime = root / ".pack" / "runtime"
    shutil.copytree(
        REPO / "runtime_stub" / "pack_runtime",
        runtime / "pack_runtime",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(REPO / "templates" / "runtime_main.py", runtime / "__main__.py")
    # As the build does: precompiled, so running the bundle writes nothing into it.
    subprocess.run(
        [
            python,
            "-I",
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            runtime,
            site,
        ],
        check=True,
    )
    manifest = BundleManifest(
        name=name,
        version=version,
        target=TARGET,
        python=PythonBuild(
            version="{}.{}.{}".format(*sys.version_info[:3]),
            implementation="cpython",
            asset=f"cpython-3.11.7+20990101-{TARGET}-install_only.tar.gz",
            sha256="ab" * 32,
            tag="20990101",
            flavor="install_only",
        ),
        lock=LockRef(path="uv.lock", format="uv", sha256="cd" * 32),
        entry_points=(EntryPoint("demo", "demo_app", "main", name),),
        build=BuildInfo.from_epoch(1700000000),
        self_command=self_command,
    )
    (root / ".pack" / "bundle.json").write_bytes(manifest.to_json())
    write_files_list(root)
    return root


def archive_of(root: Path, out: Path, fmt: Format = "tar.gz", top: str | None = None) -> Path:
    """`<name>-<version>-<target>.<fmt>` with its `.sha256`, written by pack's archive writer."""
    info = json.loads((root / ".pack" / "bundle.json").read_text())
    top = top or f"{info['name']}-{info['version']}"
    dest = out / f"{top}-{TARGET}.{fmt}"
    out.mkdir(parents=True, exist_ok=True)
    write_archive(root, dest, top=top, options=ArchiveOptions(format=fmt))
    return dest


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Deployed:
    """`<base>/opt/demo/<version>/` with `current` pointing at it, as the docs lay it out."""

    app_dir: Path
    root: Path

    @property
    def current(self) -> Path:
        return self.app_dir / "current"


def deploy(base: Path, version: str = "1.0", *, link: bool = True) -> Deployed:
    app_dir = base / "opt" / "demo"
    app_dir.mkdir(parents=True)
    root = make_bundle(app_dir, version=version, dirname=version)
    if link:
        (app_dir / "current").symlink_to(version)
    return Deployed(app_dir, root)


@dataclass
class Result:
    code: int
    out: str
    err: str


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def stub(root: Path, *args: str, answer: str | None = None, **env: str) -> Result:
    """Run the stub in this process as the launcher would (same variables); `answer` is
    typed on a terminal when a question is asked."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PACK_BUNDLE_ROOT": str(root),
        "PACK_LAUNCHER": "demo",
        "PACK_SELF_COMMAND": "self",
        **env,
    }
    out, err = io.StringIO(), io.StringIO()
    stdin = _Tty(answer + "\n") if answer is not None else io.StringIO()
    code = cli.main(list(args), environ, cli.Console(out, err, stdin))
    return Result(code, out.getvalue(), err.getvalue())


def launch(launcher: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(launcher), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        check=False,
    )


def leftovers(app_dir: Path) -> list[str]:
    return sorted(p.name for p in app_dir.iterdir() if p.name.startswith("."))


@pytest.fixture
def server(tmp_path: Path, ca: LocalCA) -> Iterator[Server]:
    """https on 127.0.0.1; tests give the stub its CA in SSL_CERT_FILE."""
    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www", server_context(ca)) as state:
        yield state


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path)


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


def test_verify_passes_on_an_intact_bundle(bundle: Path) -> None:
    r = stub(bundle, "verify")
    assert (r.code, r.out) == (0, f"ok: {bundle} matches .pack/files\n")


def _modify(root: Path) -> str:
    path = root / "venv/lib/python3.11/site-packages/demo_app.py"
    path.write_text(path.read_text() + "# patched\n")
    return "venv/lib/python3.11/site-packages/demo_app.py"


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
        (_modify, "modified"),
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


def test_packages_lists_the_venv_only(bundle: Path) -> None:
    r = stub(bundle, "packages")
    assert (r.code, r.out) == (0, "demo  1.0\nsix   1.16.0\n")
    r = stub(bundle, "packages", "--json")
    assert json.loads(r.out) == [
        {"name": "demo", "version": "1.0"},
        {"name": "six", "version": "1.16.0"},
    ]


def test_running_the_stub_writes_nothing_in_the_bundle(bundle: Path) -> None:
    for args in (["info"], ["verify"], ["packages"], ["python-path"]):
        proc = launch(bundle / "bin/demo", "self", *args)
        assert proc.returncode == 0, proc.stderr
    assert stub(bundle, "verify").code == 0


def test_self_command_is_the_launcher_s_and_others_reach_the_app(tmp_path: Path) -> None:
    root = make_bundle(tmp_path, self_command="manage")
    assert launch(root / "bin/demo", "self").stdout == "demo 1.0\n"
    proc = launch(root / "bin/demo", "manage", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: demo manage [-h] [-v] COMMAND")


@pytest.mark.parametrize("python", OTHER_PYTHONS)
def test_the_stub_runs_on_other_pythons_without_warnings(tmp_path: Path, python: Path) -> None:
    root = make_bundle(tmp_path, python=python)
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


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.zst"])
def test_update_from_a_file_switches_current(tmp_path: Path, fmt: Format) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist", fmt)
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"  # still relative
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"
    assert launch(d.root / "bin/demo").stdout == "demo 1.0\n"  # the old version stays
    assert r.out == (
        f"switched {d.current} to demo 2.0 ({d.app_dir}/2.0)\n"
        f"1.0 stays in {d.root}; to delete it: {d.root}/bin/demo self remove\n"
    )
    assert leftovers(d.app_dir) == []
    assert stub(d.app_dir / "2.0", "verify").code == 0


def test_update_through_the_launcher_and_current(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist", "tar.zst")
    proc = launch(d.current / "bin/demo", "self", "update", str(new), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "smoke-testing demo 2.0" in proc.stderr
    assert str(d.current.readlink()) == "2.0"
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"


def test_update_from_a_url_uses_the_sha256_beside_it(
    tmp_path: Path, server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root / "rel", "tar.zst")
    r = stub(d.root, "update", server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"
    assert server.hits == {f"rel/{new.name}.sha256": 1, f"rel/{new.name}": 1}


def test_update_from_a_url_with_a_given_digest(tmp_path: Path, server: Server, ca: LocalCA) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    digest = sha256_of(new)
    new.with_name(new.name + ".sha256").unlink()
    r = stub(
        d.root,
        "update",
        server.url(new),
        "--sha256",
        digest.upper(),
        "--yes",
        SSL_CERT_FILE=str(ca.ca_cert),
    )
    assert r.code == 0, r.err
    assert str(d.current.readlink()) == "2.0"


def test_update_with_a_bad_digest_is_refused_and_nothing_switched(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    actual = sha256_of(new)
    r = stub(d.root, "update", str(new), "--sha256", "0" * 64, "--yes")
    assert r.code == 4
    assert r.err.splitlines()[-1] == (
        f"error: {new}: sha256 mismatch: expected {'0' * 64}, got {actual}; the archive is "
        "corrupt or not the one that was published"
    )
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_update_from_a_url_with_a_bad_sidecar_is_refused(
    tmp_path: Path, server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    new.with_name(new.name + ".sha256").write_text(f"{'1' * 64}  {new.name}\n")
    r = stub(d.root, "update", server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 4
    assert f"sha256 mismatch: expected {'1' * 64}, got {sha256_of(new)}" in r.err
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_a_sidecar_for_another_file_is_refused(tmp_path: Path, server: Server, ca: LocalCA) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    new.with_name(new.name + ".sha256").write_text(f"{sha256_of(new)}  other.tar.gz\n")
    r = stub(d.root, "update", server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 4
    assert r.err.splitlines()[-1] == (
        f"error: {server.url(new)}.sha256 is the digest of 'other.tar.gz', not of '{new.name}'"
    )


def test_network_errors_are_reported_with_the_url(
    tmp_path: Path, server: Server, ca: LocalCA
) -> None:
    d = deploy(tmp_path)
    missing = f"{server.base}/nope.tar.zst"
    r = stub(d.root, "update", missing, "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 3
    assert r.err.splitlines()[-1] == f"error: GET {missing}.sha256: HTTP 404 Not Found"

    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), server.root, "tar.gz")
    server.truncate.add(new.name)
    r = stub(d.root, "update", server.url(new), "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert r.code == 3
    size = new.stat().st_size
    assert r.err.splitlines()[-1] == (
        f"error: GET {server.url(new)}: connection closed after {size // 2} of {size} bytes"
    )
    assert str(d.current.readlink()) == "1.0"
    assert leftovers(d.app_dir) == []


def test_a_file_without_digest_needs_sha256(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    new.with_name(new.name + ".sha256").unlink()
    r = stub(d.root, "update", str(new))
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {new}.sha256 not found; pass --sha256 HEX with the digest published for {new.name}"
    )
    r = stub(d.root, "update", str(new), "--sha256", "xyz")
    assert (r.code, r.err) == (2, "error: --sha256 'xyz' is not a sha256 digest (64 hex digits)\n")


def test_an_archive_of_another_app_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    other = archive_of(
        make_bundle(tmp_path / "build", name="other", version="9.0"), tmp_path / "dist"
    )
    r = stub(d.root, "update", str(other), "--yes")
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {other} holds other 9.0, not demo; refusing to replace one app with another"
    )
    assert str(d.current.readlink()) == "1.0"
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_an_archive_for_another_target_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    root = make_bundle(tmp_path / "build", version="2.0")
    info = json.loads((root / ".pack/bundle.json").read_text())
    info["target"] = "aarch64-unknown-linux-gnu"
    (root / ".pack/bundle.json").write_text(json.dumps(info))
    write_files_list(root)
    r = stub(d.root, "update", str(archive_of(root, tmp_path / "dist")), "--yes")
    assert r.code == 2
    assert "is built for aarch64-unknown-linux-gnu, but this bundle runs on x86_64" in r.err


def test_the_running_version_again_is_nothing_to_do(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    same = archive_of(make_bundle(tmp_path / "build", version="1.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(same), "--yes")
    assert (r.code, r.out) == (0, f"demo 1.0 is already this bundle ({d.root}); nothing to do\n")
    assert leftovers(d.app_dir) == []


def test_without_current_the_new_version_is_unpacked_beside_and_announced(tmp_path: Path) -> None:
    (tmp_path / "opt").mkdir()
    root = make_bundle(tmp_path / "opt", version="1.0")  # /opt/demo-1.0, untarred in place
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    dest = tmp_path / "opt" / "demo-2.0"
    assert r.out == (
        f"demo 2.0 is ready in {dest} (verified and smoke-tested)\n"
        f"run it with: {dest}/bin/demo\n"
        f"1.0 stays in {root}; to delete it: {root}/bin/demo self remove\n"
    )
    assert launch(dest / "bin/demo").stdout == "demo 2.0\n"


def test_declined_switch_leaves_current_and_says_how(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), answer="n")
    assert r.code == 1
    assert f"Switch {d.current} from 1.0 to 2.0? [y/N] " in r.err
    assert str(d.current.readlink()) == "1.0"
    assert r.out.splitlines()[-2:] == [
        f"{d.current} still points at 1.0 (declined)",
        f"to smoke-test it and switch: {d.root}/bin/demo self update {new} --yes",
    ]
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"


def test_no_terminal_and_no_yes_does_not_switch_then_a_rerun_reuses(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new))
    assert r.code == 1
    assert f"{d.current} still points at 1.0 (no terminal to ask on; pass --yes)" in r.out
    assert str(d.current.readlink()) == "1.0"
    assert (d.app_dir / "2.0" / "bin/demo").exists()

    r = stub(d.root, "update", str(new), answer="y")
    assert r.code == 0, r.err
    assert f"{d.app_dir}/2.0 already holds demo 2.0, intact; using it" in r.err
    assert str(d.current.readlink()) == "2.0"


def test_an_existing_damaged_destination_is_not_reused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    (d.app_dir / "2.0").mkdir()
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 2
    assert r.err.splitlines()[-1] == (
        f"error: {d.app_dir}/2.0 already exists and is not an intact demo 2.0; move it away or "
        "remove it, then run the update again"
    )
    assert str(d.current.readlink()) == "1.0"


def test_a_new_version_that_fails_its_smoke_test_is_not_moved_in(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    broken = make_bundle(tmp_path / "build", version="2.0")
    shutil.rmtree(broken / ".pack/runtime/__pycache__")
    (broken / ".pack/runtime/__main__.py").write_text("raise SystemExit('stub is broken')\n")
    write_files_list(broken)
    r = stub(d.root, "update", str(archive_of(broken, tmp_path / "dist")), "--yes")
    assert r.code == 5
    assert r.err.splitlines()[-1].endswith("failed (exit 1): stub is broken")
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]
    assert str(d.current.readlink()) == "1.0"


def test_a_new_version_that_does_not_match_its_file_list_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    bad = make_bundle(tmp_path / "build", version="2.0")
    _modify(bad)
    r = stub(d.root, "update", str(archive_of(bad, tmp_path / "dist")), "--yes")
    assert r.code == 5
    assert "does not match its own .pack/files (1 modified, e.g. venv/lib/" in r.err
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["1.0", "current"]


def test_stale_work_dirs_are_removed_by_the_next_update(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    stale = d.app_dir / ".pack-update-demo-deadbeef"
    (stale / "tree" / "x").mkdir(parents=True)
    (stale / "tree" / "x").chmod(0o500)
    other_app = d.app_dir / ".pack-update-other-deadbeef"
    other_app.mkdir()
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    r = stub(d.root, "update", str(new), "--yes")
    assert r.code == 0, r.err
    assert f"removed {stale}, left by an interrupted update" in r.err
    assert leftovers(d.app_dir) == [other_app.name]


def test_a_concurrent_update_is_refused(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    fd = os.open(d.app_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        r = stub(d.root, "update", str(new), "--yes")
    finally:
        os.close(fd)
    assert (r.code, r.err) == (
        2,
        f"error: another `self update` or `self remove` is running in {d.app_dir}; wait for it "
        "to finish\n",
    )


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_a_read_only_parent_is_reported_and_the_bundle_still_runs(tmp_path: Path) -> None:
    # Root ignores permission bits, so the directory is made read-only with a bind mount.
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    sandbox = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(d.app_dir), str(d.app_dir)]
    proc = subprocess.run(
        [*sandbox, d.current / "bin/demo", "self", "update", new, "--yes"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 6
    assert proc.stderr.splitlines()[-1] == (
        f"error: cannot write in {d.app_dir} (Read-only file system); the new version is "
        "unpacked beside the running one, so update needs write access there"
    )
    assert str(d.current.readlink()) == "1.0"


@pytest.mark.parametrize("python", OTHER_PYTHONS)
def test_update_runs_on_other_pythons(tmp_path: Path, python: Path) -> None:
    app_dir = tmp_path / "opt" / "demo"
    app_dir.mkdir(parents=True)
    root = make_bundle(app_dir, version="1.0", dirname="1.0", python=python)
    (app_dir / "current").symlink_to("1.0")
    new = archive_of(
        make_bundle(tmp_path / "build", version="2.0", python=python), tmp_path / "dist", "tar.zst"
    )
    proc = launch(app_dir / "current/bin/demo", "self", "update", str(new), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert launch(app_dir / "current/bin/demo").stdout == "demo 2.0\n"
    assert launch(root / "bin/demo").stdout == "demo 1.0\n"


def _tar(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    """Write a .tar.gz of (name, kind, data-or-link-target) entries."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, value in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, value
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
            else:
                data = value.encode()
                info.size = len(data)
                info.mode = int(kind, 8) if kind.isdigit() else 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ([("app/x", "file", "x"), ("/etc/evil", "file", "x")], "'/etc/evil' (absolute path)"),
        ([("app/../evil", "file", "x")], "'app/../evil' ('..' in the path)"),
        ([("app/l", "sym", "/etc")], "'app/l' (absolute link target '/etc')"),
        (
            [("app/l", "sym", "../../etc")],
            "'app/l' (link target '../../etc' is outside the bundle's top folder)",
        ),
        (
            [("app/l", "sym", "a/../../..")],
            "'app/l' (link target 'a/../../..' has '..' after a name)",
        ),
        ([("app/h", "hard", "../etc/passwd")], "'app/h' (hard link to '../etc/passwd')"),
        ([("app/f", "fifo", "")], "'app/f' (a device or fifo)"),
        (
            [("app/l", "sym", "x"), ("app/l", "file", "through the link")],
            "'app/l' (it is already in the archive)",
        ),
    ],
)
def test_unsafe_entries_are_refused(
    tmp_path: Path, entries: list[tuple[str, str, str]], why: str
) -> None:
    bad = _tar(tmp_path / "bad.tar.gz", entries)
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError) as exc:
        archive_mod.safe_extract(bad, tmp_path / "out")
    assert str(exc.value) == f"{bad}: refusing entry {why}; the archive is corrupt or malicious"
    assert not (tmp_path / "evil").exists()


def test_more_than_one_top_folder_is_refused(tmp_path: Path) -> None:
    bad = _tar(tmp_path / "two.tar.gz", [("a/x", "file", "x"), ("b/y", "file", "y")])
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError, match=r"more than one top-level entry \('a', 'b'\)"):
        archive_mod.safe_extract(bad, tmp_path / "out")


def test_an_unsafe_update_archive_is_refused_with_exit_4(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    bad = _tar(tmp_path / "demo-2.0.tar.gz", [("demo-2.0/l", "sym", "/etc")])
    r = stub(d.root, "update", str(bad), "--sha256", sha256_of(bad), "--yes")
    assert r.code == 4
    assert "refusing entry 'demo-2.0/l' (absolute link target '/etc')" in r.err
    assert leftovers(d.app_dir) == []


@pytest.mark.parametrize("data_filter", [True, False])
def test_extraction_keeps_links_and_drops_special_bits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_filter: bool
) -> None:
    # False exercises the manual path used by interpreters without tarfile's data filter.
    monkeypatch.setattr(archive_mod, "_HAS_DATA_FILTER", data_filter)
    good = _tar(
        tmp_path / "good.tar.gz",
        [
            ("app/", "dir", ""),
            ("app/bin/tool", "4777", "#!/bin/sh\n"),
            ("app/data.txt", "0666", "data"),
            ("app/venv/bin/python", "sym", "../../bin/tool"),
            ("app/same", "hard", "app/data.txt"),
        ],
    )
    (tmp_path / "out").mkdir()
    top = archive_mod.safe_extract(good, tmp_path / "out")
    assert top == tmp_path / "out" / "app"
    assert (top / "bin/tool").stat().st_mode & 0o7777 == 0o755
    assert (top / "data.txt").stat().st_mode & 0o7777 == 0o644
    assert str((top / "venv/bin/python").readlink()) == "../../bin/tool"
    assert (top / "same").read_text() == "data"


def test_zstd_without_module_or_command_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a bundle's Python before 3.14: no compression.zstd, no zstandard package.
    monkeypatch.setattr(archive_mod, "_zstd_module", lambda: None)
    root = make_bundle(tmp_path / "build", version="2.0")
    zst = archive_of(root, tmp_path / "dist", "tar.zst")
    (tmp_path / "out").mkdir()
    with pytest.raises(StubError) as exc:
        archive_mod.safe_extract(zst, tmp_path / "out", {"PATH": str(tmp_path / "empty")})
    assert str(exc.value) == (
        f"{zst} is zstd-compressed, but this Python (3.11) has no compression.zstd module and no "
        "`zstd` command is on PATH; install zstd, or update from the .tar.gz or .tar.xz archive"
    )


def test_a_corrupt_zstd_stream_is_reported(tmp_path: Path) -> None:
    zst = tmp_path / "bad.tar.zst"
    zst.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(200))
    (tmp_path / "out").mkdir()
    with pytest.raises(ChecksumError, match=r"bad\.tar\.zst: .*corrupt"):
        archive_mod.safe_extract(zst, tmp_path / "out")


def test_remove_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path) -> None:
    victim = tmp_path / "data"
    (victim / ".pack").mkdir(parents=True)
    (victim / ".pack" / "bundle.json").write_text("{}")
    (victim / "precious.txt").write_text("keep me")
    r = stub(victim, "remove", "--yes")
    assert (r.code, r.err) == (
        2,
        f"error: refusing to remove {victim}: it does not look like a pack bundle "
        "(.pack/files is missing)\n",
    )
    assert (victim / "precious.txt").read_text() == "keep me"


def test_remove_asks_and_honours_no(tmp_path: Path) -> None:
    root = make_bundle(tmp_path)
    r = stub(root, "remove", answer="no")
    assert (r.code, r.out) == (1, "not removed\n")
    assert f"Remove demo 1.0 in {root}? [y/N] " in r.err
    assert root.is_dir()
    r = stub(root, "remove")
    assert (r.code, r.err) == (
        2,
        f"error: no terminal to confirm on; pass --yes to remove {root}\n",
    )
    r = stub(root, "remove", answer="y")
    assert (r.code, r.out) == (0, f"removed demo 1.0 ({root})\n")
    assert list(tmp_path.iterdir()) == []


def test_remove_of_the_current_version_needs_yes_and_warns(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    r = stub(d.root, "remove", answer="y")
    assert r.code == 2
    assert r.err == (
        f"error: {d.current} points at {d.root} (demo 1.0); removing it would leave "
        f"{d.current} dangling: switch it to another version first, or pass --yes\n"
    )
    assert d.root.is_dir()
    proc = launch(d.current / "bin/demo", "self", "remove", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"removed demo 1.0 ({d.root})\n"
    warning = f"warning: {d.current} now points at nothing; repoint it at another version\n"
    assert proc.stderr == warning
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["current"]


def test_remove_of_an_old_version_leaves_current_alone(tmp_path: Path) -> None:
    d = deploy(tmp_path)
    new = archive_of(make_bundle(tmp_path / "build", version="2.0"), tmp_path / "dist")
    assert stub(d.root, "update", str(new), "--yes").code == 0
    r = stub(d.root, "remove", "--yes")
    assert r.code == 0, r.err
    assert sorted(p.name for p in d.app_dir.iterdir()) == ["2.0", "current"]
    assert launch(d.current / "bin/demo").stdout == "demo 2.0\n"
