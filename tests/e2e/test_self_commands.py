"""`<app> self ...` in a real built bundle, unpacked with the system tar and deployed as the
docs lay it out (`<dir>/<app>/<version>/` and a `current` symlink): inspect, verify, run the
bundled interpreter, update from a file and from 127.0.0.1, refuse what must be refused,
survive being killed, remove."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pack_runtime.filelist import write_files_list
from tests.helpers.bundles import Built, bwrap_argv, listing, unpack
from tests.helpers.http_server import Server, serve
from tests.helpers.tamper import add, chmod, delete, modify, retarget
from tests.helpers.tls import LocalCA, server_context

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def run(launcher: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(launcher), *args], capture_output=True, text=True, env={**ENV, **env}, check=False
    )


def info_of(launcher: Path) -> dict[str, object]:
    proc = run(launcher, "self", "info", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def entry_of(root: Path) -> str:
    info = json.loads((root / ".pack/bundle.json").read_text())
    return str(info["entry_points"][0]["name"])


def repack(built: Built, workdir: Path, *, name: str | None = None, version: str) -> Path:
    """A re-packed bundle: the built archive unpacked, its bundle.json given another name
    and/or version, .pack/files regenerated, and tarred again with the system tar and zstd
    under `<name>-<version>/`, with a `.sha256` beside it as pack writes it."""
    root = unpack(built.archive, workdir / "unpacked")
    meta = root / ".pack/bundle.json"
    info = json.loads(meta.read_text())
    info["version"] = version
    if name is not None:
        info["name"] = name
    meta.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    write_files_list(root)
    top = f"{info['name']}-{version}"
    root = root.rename(root.with_name(top))
    out = workdir / "dist"
    out.mkdir()
    archive = out / f"{top}-{built.target}.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", archive, "-C", root.parent, top], check=True)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    archive.with_name(archive.name + ".sha256").write_text(f"{digest}  {archive.name}\n")
    shutil.rmtree(root)
    return archive


NEW_VERSION = "9.9.9"


@pytest.fixture(scope="module")
def newer_archive(built_bundle: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repack(built_bundle, tmp_path_factory.mktemp("newer"), version=NEW_VERSION)


@pytest.fixture(scope="module")
def other_app_archive(built_bundle: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return repack(built_bundle, tmp_path_factory.mktemp("other"), name="other-app", version="5.0")


@dataclass
class Deployed:
    app_dir: Path
    root: Path
    entry: str

    @property
    def current(self) -> Path:
        return self.app_dir / "current"

    @property
    def launcher(self) -> Path:
        """The launcher as ops run it: through `current`."""
        return self.current / "bin" / self.entry


@pytest.fixture
def bundle(built_bundle: Built, tmp_path: Path) -> Path:
    return unpack(built_bundle.archive, tmp_path / "unpacked")


@pytest.fixture
def deployed(built_bundle: Built, tmp_path: Path) -> Deployed:
    app_dir = tmp_path / "opt" / built_bundle.name
    root = unpack(built_bundle.archive, tmp_path / "unpacked")
    app_dir.mkdir(parents=True)
    root = root.rename(app_dir / built_bundle.version)
    (app_dir / "current").symlink_to(built_bundle.version)
    return Deployed(app_dir, root, entry_of(root))


def entries(app_dir: Path) -> list[str]:
    return sorted(p.name for p in app_dir.iterdir())


@pytest.fixture
def server(newer_archive: Path, ca: LocalCA) -> Iterator[Server]:
    """https: plain http needs --sha256. The stub trusts the test CA through SSL_CERT_FILE."""
    with serve(newer_archive.parent, server_context(ca)) as state:
        state.cafile = str(ca.ca_cert)
        yield state


def test_info_json_matches_the_build(built_bundle: Built, bundle: Path) -> None:
    for entry in ("compiled-app", "compiled-admin"):
        shown = info_of(bundle / "bin" / entry)
        assert shown.pop("root") == str(bundle.resolve())
        assert shown == json.loads((bundle / ".pack/bundle.json").read_text())
        assert (shown["name"], shown["version"]) == (built_bundle.name, built_bundle.version)
        assert shown["target"] == built_bundle.target
        assert shown["self_command"] == "self"


def test_info_human_shows_the_python_build_and_entry_points(bundle: Path) -> None:
    proc = run(bundle / "bin/compiled-app", "self", "info")
    assert proc.returncode == 0, proc.stderr
    assert "version       1.2.0\n" in proc.stdout
    assert "stripped      test\n" in proc.stdout  # the default: CPython's test suites
    assert "entry points  compiled-app -> compiled_app.main:main, compiled-admin -> " in proc.stdout


def test_verify_passes_on_a_fresh_unpack(bundle: Path) -> None:
    proc = run(bundle / "bin/compiled-app", "self", "verify")
    assert (proc.returncode, proc.stdout) == (0, f"ok: {bundle.resolve()} matches .pack/files\n")


@pytest.mark.parametrize(
    ("tamper", "label"),
    [
        (modify, "modified"),
        (chmod, "modified"),
        (retarget, "modified"),
        (delete, "missing"),
        (add, "unexpected"),
    ],
)
def test_verify_fails_naming_each_kind_of_tampering(
    bundle: Path, tamper: Callable[[Path], str], label: str
) -> None:
    path = tamper(bundle)
    proc = run(bundle / "bin/compiled-app", "self", "verify")
    assert proc.returncode == 1
    assert proc.stdout == f"{label:<10} {path}\n"
    assert proc.stderr == f"{bundle.resolve()} differs from .pack/files: 1 {label}, e.g. {path}\n"


def test_python_and_python_path_are_the_bundle_s_even_without_a_host_python(bundle: Path) -> None:
    code = "import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix]))"
    launcher = str(bundle / "bin/compiled-app")
    for argv in ([launcher, "self", "python-path"], [launcher, "self", "python", "-c", code]):
        proc = subprocess.run(
            bwrap_argv(argv, ro_bind=[bundle]), capture_output=True, text=True, env=ENV, check=False
        )
        assert proc.returncode == 0, proc.stderr
        if argv[2] == "python-path":
            assert proc.stdout == f"{bundle.resolve()}/venv/bin/python\n"
        else:
            executable, prefix, base_prefix = json.loads(proc.stdout)
            assert executable == f"{bundle.resolve()}/venv/bin/python"
            assert Path(prefix).resolve() == bundle.resolve() / "venv"
            assert Path(base_prefix).resolve() == bundle.resolve() / "python"


def test_python_without_args_runs_the_interpreter_on_stdin(bundle: Path) -> None:
    proc = subprocess.run(
        [bundle / "bin/compiled-app", "self", "python"],
        input="import markupsafe\nprint(markupsafe.escape('<b>'))\n",
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "&lt;b&gt;\n")


def test_packages_lists_the_locked_closure(bundle: Path) -> None:
    proc = run(bundle / "bin/compiled-app", "self", "packages", "--json")
    assert proc.returncode == 0, proc.stderr
    shown = {d["name"].lower(): d["version"] for d in json.loads(proc.stdout)}
    assert shown == {"compiled-app": "1.2.0", "markupsafe": "3.0.2"}


def test_self_commands_write_nothing_in_a_read_only_bundle(bundle: Path) -> None:
    before = listing(bundle)
    for args in (["info"], ["info", "--json"], ["verify"], ["packages"], ["python-path"]):
        argv = bwrap_argv([str(bundle / "bin/compiled-app"), "self", *args], ro_bind=[bundle])
        proc = subprocess.run(argv, capture_output=True, text=True, env=ENV, check=False)
        assert proc.returncode == 0, (args, proc.stderr)
    assert listing(bundle) == before


def test_update_from_a_file_through_current(deployed: Deployed, newer_archive: Path) -> None:
    old = deployed.root
    proc = run(deployed.launcher, "self", "update", str(newer_archive), "--yes")
    assert proc.returncode == 0, proc.stderr
    new_root = deployed.app_dir / NEW_VERSION
    assert proc.stdout.splitlines()[0] == (
        f"switched {deployed.current} to compiled-app {NEW_VERSION} ({new_root})"
    )
    assert str(deployed.current.readlink()) == NEW_VERSION
    assert info_of(deployed.launcher)["version"] == NEW_VERSION
    assert info_of(old / "bin" / deployed.entry)["version"] == "1.2.0"  # the old one stays
    app = run(deployed.launcher)
    assert app.returncode == 0, app.stderr
    assert run(deployed.launcher, "self", "verify").returncode == 0
    assert entries(deployed.app_dir) == sorted(["1.2.0", NEW_VERSION, "current"])


def test_update_from_a_url_on_loopback(deployed: Deployed, server: Server, ca: LocalCA) -> None:
    url = server.url(server.root / f"compiled-app-{NEW_VERSION}-x86_64-unknown-linux-gnu.tar.zst")
    proc = run(deployed.launcher, "self", "update", url, "--yes", SSL_CERT_FILE=str(ca.ca_cert))
    assert proc.returncode == 0, proc.stderr
    assert str(deployed.current.readlink()) == NEW_VERSION
    assert info_of(deployed.launcher)["version"] == NEW_VERSION


def test_update_with_a_bad_digest_is_refused_and_nothing_switched(
    deployed: Deployed, newer_archive: Path
) -> None:
    proc = run(
        deployed.launcher, "self", "update", str(newer_archive), "--sha256", "a" * 64, "--yes"
    )
    assert proc.returncode == 4
    assert f"error: {newer_archive}: sha256 mismatch: expected {'a' * 64}, got " in proc.stderr
    assert str(deployed.current.readlink()) == "1.2.0"
    assert entries(deployed.app_dir) == ["1.2.0", "current"]
    assert info_of(deployed.launcher)["version"] == "1.2.0"


def test_update_with_an_archive_of_another_app_is_refused(
    deployed: Deployed, other_app_archive: Path
) -> None:
    proc = run(deployed.launcher, "self", "update", str(other_app_archive), "--yes")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        f"error: {other_app_archive} holds other-app 5.0, not compiled-app; "
        "refusing to replace one app with another"
    )
    assert str(deployed.current.readlink()) == "1.2.0"
    assert entries(deployed.app_dir) == ["1.2.0", "current"]


def _start_stalled_update(deployed: Deployed, server: Server) -> tuple[subprocess.Popen[str], Path]:
    name = f"compiled-app-{NEW_VERSION}-x86_64-unknown-linux-gnu.tar.zst"
    server.stall.add(name)
    proc = subprocess.Popen(
        [deployed.launcher, "self", "update", server.url(server.root / name), "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "SSL_CERT_FILE": server.cafile},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = list(deployed.app_dir.glob(f".pack-update-*/download/{name}"))
        if partial and partial[0].stat().st_size > 0:
            return proc, partial[0].parents[1]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the update never started downloading")


def test_update_killed_half_way_leaves_the_running_version_working(
    deployed: Deployed, server: Server, newer_archive: Path
) -> None:
    proc, staging = _start_stalled_update(deployed, server)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert staging.is_dir()  # SIGKILL leaves it; the next update cleans it
    assert str(deployed.current.readlink()) == "1.2.0"
    assert info_of(deployed.launcher)["version"] == "1.2.0"
    assert run(deployed.launcher).returncode == 0
    assert run(deployed.launcher, "self", "verify").returncode == 0

    again = run(deployed.launcher, "self", "update", str(newer_archive), "--yes")
    assert again.returncode == 0, again.stderr
    assert f"removed {staging}, left by an interrupted update" in again.stderr
    assert entries(deployed.app_dir) == sorted(["1.2.0", NEW_VERSION, "current"])
    assert info_of(deployed.launcher)["version"] == NEW_VERSION


def test_update_terminated_half_way_cleans_up_at_once(deployed: Deployed, server: Server) -> None:
    proc, staging = _start_stalled_update(deployed, server)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.splitlines()[-1] == "error: interrupted"
    assert not staging.exists()
    assert entries(deployed.app_dir) == ["1.2.0", "current"]
    assert info_of(deployed.launcher)["version"] == "1.2.0"


@pytest.mark.parametrize("marker", [".pack/files", "venv/pyvenv.cfg"])
def test_remove_refuses_a_directory_that_is_not_a_bundle(bundle: Path, marker: str) -> None:
    (bundle / marker).unlink()
    before = listing(bundle)
    proc = run(bundle / "bin/compiled-app", "self", "remove", "--yes")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: refusing to remove {bundle.resolve()}: it does not look like a pack bundle "
        f"({marker} is missing)\n"
    )
    assert listing(bundle) == before


def test_remove_an_old_version_after_an_update(deployed: Deployed, newer_archive: Path) -> None:
    assert run(deployed.launcher, "self", "update", str(newer_archive), "--yes").returncode == 0
    proc = run(deployed.root / "bin" / deployed.entry, "self", "remove", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"removed compiled-app 1.2.0 ({deployed.root})\n"
    assert entries(deployed.app_dir) == [NEW_VERSION, "current"]
    assert info_of(deployed.launcher)["version"] == NEW_VERSION


def test_remove_of_the_current_version_is_refused_without_yes(deployed: Deployed) -> None:
    proc = run(deployed.launcher, "self", "remove")
    assert proc.returncode == 2
    assert "points at" in proc.stderr and "pass --yes" in proc.stderr
    assert deployed.root.is_dir()
    assert deployed.launcher.exists()
