"""The synthetic-bundle factory: bundle trees with the real layout (bin/, python/, venv/ with a
relative interpreter symlink and dist-infos with RECORDs, .pack/ with bundle.json and files),
in two kinds sharing one skeleton: `make_bundle`, inert (a fake interpreter; for archives,
inspection and verification), and `runnable_bundle` (a copied host interpreter, the real
launcher and the real stub; for the stub's commands). And archiving an inert one in a fresh
process with a chosen umask, TZ, LANG and thread count, for reproducibility tests.

Usage: python -m tests.helpers.synthetic TREE DEST FORMAT THREADS [VARIANT]
(builds the tree at TREE under the current umask, archives it as DEST, prints the sha256).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from pack_runtime.filelist import write_files_list
from pack_runtime.layout import BUNDLE_JSON, PYVENV_CFG, Bundle
from packager.launcher import Launchable as LauncherEntry
from packager.launcher import LauncherSettings, render_launcher
from packager.manifest import BuildInfo, BundleManifest, EntryPoint, LockRef, PythonBuild

PY = "3.11"
SITE = f"venv/lib/python{PY}/site-packages"
NAME, VERSION = "app", "1.0"
TOP = f"{NAME}-{VERSION}"
REPO = Path(__file__).resolve().parents[2]
TARGET = "x86_64-unknown-linux-gnu"
HOST_PY = Path(os.path.realpath(sys.executable))
# Names the tests expect, kept beside the tree that holds them.
UNICODE_FILE = f"{SITE}/app/d\u00e9j\u00e0_vu/\u65e5\u672c.txt"
LONG_FILE = f"{SITE}/app/" + "deep/" * 25 + "file.txt"


def example_manifest(name: str = NAME, version: str = VERSION) -> BundleManifest:
    return BundleManifest(
        name=name,
        version=version,
        target=TARGET,
        python=PythonBuild(
            version="3.11.7",
            implementation="cpython",
            asset="cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz",
            sha256="ab" * 32,
            tag="20990101",
            flavor="install_only",
        ),
        lock=LockRef(path="pylock.toml", format="pylock", sha256="cd" * 32),
        entry_points=(EntryPoint("app", "app.__main__", "main", "app"),),
        build=BuildInfo.from_epoch(1700000000),
        env={"APP_MODE": "prod"},
        strip=("test",),
    )


def _record_line(site: Path, path: Path) -> str:
    data = path.read_bytes()
    b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{os.path.relpath(path, site)},sha256={b64},{len(data)}"


def add_dist(site: Path, name: str, version: str, files: Mapping[str, bytes]) -> None:
    """A distribution in `site`: its files (paths relative to `site`, `../../../bin/x` for
    scripts) and a dist-info whose RECORD lists them, and itself without a hash, as
    installers write it."""
    written = []
    for rel, data in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("uv\n")
    written += [info / "METADATA", info / "INSTALLER"]
    lines = [_record_line(site, p) for p in written]
    lines.append(f"{name}-{version}.dist-info/RECORD,,")
    (info / "RECORD").write_text("\n".join(lines) + "\n")


def make_bundle(root: Path, *, variant: str = "", files_list: bool = True) -> Path:
    """Build a bundle tree at `root` (created; must not exist). `variant` changes one source
    file's bytes, standing in for a changed project. Returns `root`."""
    root.mkdir(parents=True)
    launcher = root / "bin" / NAME
    launcher.parent.mkdir()
    launcher.write_text('#!/bin/sh\nexec "$(dirname "$0")/../venv/bin/python" -I -m app "$@"\n')
    launcher.chmod(0o755)

    stdlib = root / "python" / "lib" / f"python{PY}"
    (root / "python" / "bin").mkdir(parents=True)
    interp = root / "python" / "bin" / f"python{PY}"
    interp.write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    interp.chmod(0o755)
    (root / "python" / "bin" / "python3").symlink_to(f"python{PY}")
    for mod in ("os", "json/__init__", "encodings/utf_8", "tkinter/__init__", "idlelib/idle"):
        path = stdlib / f"{mod}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# stdlib module {mod}\n" + "x = 1\n" * 200)
    (stdlib / "test").mkdir()
    (stdlib / "test" / "test_os.py").write_text("def test(): pass\n")
    (stdlib / "lib-dynload").mkdir()
    (stdlib / "lib-dynload" / "_json.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF" * 50)
    (root / "python" / "include").mkdir()  # an empty folder must survive

    site = _venv(root, f"python{PY}", "include-system-site-packages = false\nrelocatable = true\n")
    venv = Bundle(root).venv
    add_dist(
        site,
        "app",
        VERSION,
        {
            "app/__init__.py": f"VALUE = {variant!r}\n".encode(),
            "app/__main__.py": b"print('hello')\n",
            # Non-ASCII and longer than ustar's 100-byte name field: needs PAX records.
            os.path.relpath(root / UNICODE_FILE, site): "caf\u00e9\n".encode(),
            os.path.relpath(root / LONG_FILE, site): b"deep\n",
            "../../../bin/app": b"#!/bin/sh\n'''exec' \"$(dirname \"$0\")/python\" \"$0\"\n' '''\n",
        },
    )
    (venv / "bin" / "app").chmod(0o755)
    add_dist(site, "six", "1.16.0", {"six.py": b"# six\n" * 1000})
    (site / "_virtualenv.pth").write_text("")

    runtime = Bundle(root).runtime_dir / "pack_runtime"
    runtime.mkdir(parents=True)
    (runtime / "__init__.py").write_text('"""stub"""\n')
    _seal(root, example_manifest(), files_list=files_list)
    return root


def runnable_bundle(
    parent: Path,
    *,
    name: str = "demo",
    version: str = "1.0",
    dirname: str | None = None,
    python: Path = HOST_PY,
    self_command: str = "self",
    main_code: str | None = None,
) -> Path:
    """A bundle tree that runs, at `parent/<dirname or name-version>`. `python/bin/` holds a
    copy of a host interpreter binary; pyvenv.cfg keeps `home` so that copy finds the host's
    standard library (a real bundle carries its own and has no `home`)."""
    root = parent / (dirname or f"{name}-{version}")
    layout = Bundle(root)
    minor = python.name.removeprefix("python")
    (layout.python_home / "bin").mkdir(parents=True)
    shutil.copy2(python, layout.python_home / "bin" / python.name)
    site = _venv(
        root, python.name, f"home = {python.parent}\ninclude-system-site-packages = false\n"
    )
    code = main_code or f"def main():\n    print({f'{name} {version}'!r})\n    return 0\n"
    add_dist(site, name, version, {"demo_app.py": code.encode()})
    add_dist(site, "six", "1.16.0", {"six.py": b"# six\n"})

    launcher = layout.launcher("demo")
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

    runtime = layout.runtime_dir
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
    manifest = dataclasses.replace(
        example_manifest(name, version),
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
        self_command=self_command,
        env={},
        strip=(),
    )
    _seal(root, manifest)
    return root


def _venv(root: Path, interpreter: str, pyvenv_cfg: str) -> Path:
    """`venv/` with its relative link to `python/bin/<interpreter>`; returns site-packages."""
    layout = Bundle(root)
    (layout.venv / "bin").mkdir(parents=True)
    (root / PYVENV_CFG).write_text(pyvenv_cfg)
    layout.venv_python.symlink_to(f"../../python/bin/{interpreter}")
    minor = interpreter.removeprefix("python")
    site = layout.venv / "lib" / f"python{minor}" / "site-packages"
    site.mkdir(parents=True)
    return site


def _seal(root: Path, manifest: BundleManifest, *, files_list: bool = True) -> None:
    """What the build writes last: bundle.json, then the file list of everything."""
    (root / BUNDLE_JSON).write_bytes(manifest.to_json())
    if files_list:
        write_files_list(root)


def archive_in_subprocess(
    tree: Path,
    dest: Path,
    *,
    fmt: str = "tar.zst",
    threads: int = 0,
    umask: int = 0o022,
    env: Mapping[str, str] | None = None,
    variant: str = "",
) -> str:
    """Build the synthetic tree at `tree` and archive it as `dest` in a new interpreter with
    `umask` and `env` (on top of a minimal environment); returns the archive's sha256."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "tests.helpers.synthetic", str(tree), str(dest), fmt]
    proc = subprocess.run(
        [*argv, str(threads), *([variant] if variant else [])],
        env={**base, **(env or {})},
        cwd=REPO,
        umask=umask,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"archiving failed:\n{proc.stderr}")
    return proc.stdout.strip()


def diff_archives(a: Path, b: Path) -> list[str]:
    """Why two archives (or bundle directories) differ, member by member: for the message of
    a failed reproducibility assertion. Empty when their contents agree (the bytes may still
    differ, e.g. in compression)."""
    from packager.bundlearchive import read_bundle

    def members(source: Path) -> dict[str, tuple[object, ...]]:
        return {
            m.path: (m.kind, m.size, m.executable, m.target, m.sha256)
            for m in read_bundle(source, digests=True)
        }

    left, right = members(a), members(b)
    lines = []
    for path in sorted(left.keys() | right.keys()):
        if path not in right:
            lines.append(f"only in {a.name}: {path}")
        elif path not in left:
            lines.append(f"only in {b.name}: {path}")
        elif left[path] != right[path]:
            lines.append(f"differs: {path}: {left[path]} != {right[path]}")
    return lines


def _main(argv: list[str]) -> int:
    from packager.bundlearchive import ArchiveOptions, mtime_from_env, write_archive

    tree, dest, fmt, threads = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    make_bundle(tree, variant=argv[4] if len(argv) > 4 else "")
    options = ArchiveOptions(
        format=fmt,  # type: ignore[arg-type]
        threads=threads,
        mtime=mtime_from_env(os.environ),
    )
    print(write_archive(tree, dest, top=TOP, options=options).sha256)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
