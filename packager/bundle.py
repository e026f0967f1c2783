"""The bundle tree: assembled in a staging directory from the cached runtime and dependency
layers plus the app layer (the project's wheel, local extras), with launchers, the runtime
stub and metadata; then smoke-tested with its own interpreter before anything is archived."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from pack_runtime.layout import Bundle

from . import cache as cache_mod
from ._fs import copy_tree, sha256_file
from ._proc import run
from .context import Context
from .distinfo import (
    InstalledDistribution,
    dist_info_name,
    dist_info_project,
    installed_files,
    scripts,
)
from .errors import BuildError, ConfigError
from .launcher import Launchable, LauncherSettings, render_launcher
from .resources import runtime_stub_package, template
from .runtime import Runtime, compile_tree
from .uvtool import install_files
from .venv import scrub_install_records, site_packages


def install_app_layer(
    ctx: Context,
    venv: Path,
    runtime: Runtime,
    files: Sequence[Path],
    *,
    python_platform: str | None = None,
    compile: bool = True,
) -> list[Path]:
    """Install the project's wheel and local extra wheels (their dependencies are in the lock)
    into the assembled venv, clean their records and compile their modules; returns those
    modules (with `compile=False` left for the caller to `compile_app_layer`)."""
    if not files:
        return []
    ctx.reporter.step("Installing the application")
    unshare(_install_targets(venv, runtime, files))
    install_files(
        ctx,
        venv / "bin" / "python",
        files,
        what="installing the application into the bundle",
        python_platform=python_platform,
    )
    site = site_packages(venv, runtime)
    scrub_install_records(site)
    sources: list[Path] = []
    for f in files:
        if f.suffix == ".whl":
            sources += [p for p in installed_files(site, dist_info_name(f)) if p.suffix == ".py"]
    if compile:
        compile_app_layer(venv, sources)
    return sources


def compile_app_layer(venv: Path, sources: Sequence[Path]) -> None:
    """The app layer's modules `sources` compiled by the venv's interpreter."""
    if sources:
        compile_tree(venv / "bin" / "python", sources, venv, what="the application")


# A program name that is safe to write into the launcher unquoted by anything but "...".
_PROGRAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def discover_entry_points(
    site: Path, dists: Sequence[InstalledDistribution] = ()
) -> dict[str, Launchable]:
    """Every console (and GUI) script any installed distribution declares, and every other
    executable a distribution of `dists` installs into the venv's bin/ (ruff's binary)."""
    found: dict[str, Launchable] = {}
    for ep_file, dist, section, name, value in scripts(site):
        try:
            found.setdefault(name, Launchable.parse(name, value, dist))
        except ValueError as exc:
            raise BuildError(f"{ep_file}: [{section}] {name}: {exc}") from exc
    venv = site.parents[2]
    for installed in dists:
        for file in installed.files:
            path = PurePosixPath(file)
            if path.parent != PurePosixPath("bin") or path.name in found:
                continue
            if not _PROGRAM.match(path.name) or path.name.startswith("python"):
                continue
            if (venv / file).is_file() and os.access(venv / file, os.X_OK):
                found[path.name] = Launchable.program(
                    path.name, dist_info_project(installed.dist_info)
                )
    return found


def check_own_scripts(
    wanted: Sequence[str] | None,
    project_scripts: Sequence[str],
    has_build_system: bool,
    pyproject: Path,
) -> None:
    """Before anything is built: a project without a build system is not installed, so none
    of its own [project.scripts] can be launched."""
    names = list(wanted) if wanted is not None else list(project_scripts)
    own = [n for n in names if n in project_scripts]
    if has_build_system or not own:
        return
    raise ConfigError(
        f"{pyproject}: [project.scripts] {', '.join(map(repr, own))} cannot be launched: the "
        "project has no [build-system], so its own code is not installed in the bundle; add a "
        '[build-system] (e.g. requires = ["hatchling"], build-backend = "hatchling.build"), '
        "or set [tool.pack] entry-points to a dependency's script"
    )


def select_entry_points(
    available: dict[str, Launchable],
    wanted: Sequence[str] | None,
    project_scripts: Sequence[str],
    pyproject: Path,
    *,
    otherwise: str = "",
) -> list[Launchable]:
    """The entry points a bundle exposes (and `pack run` runs the first of): [tool.pack]
    entry-points, else [project.scripts], each installed. `otherwise` tells what else the
    caller accepts when there are none."""
    names = list(wanted) if wanted is not None else list(project_scripts)
    listing = ", ".join(sorted(available)) or "none"
    if not names:
        raise ConfigError(
            f"{pyproject}: nothing to launch: the project has no [project.scripts]; set "
            f"[tool.pack] entry-points to some of the installed console scripts: {listing}"
            + otherwise
        )
    unknown = [n for n in names if n not in available]
    if unknown:
        key = "[tool.pack] entry-points" if wanted is not None else "[project.scripts]"
        raise ConfigError(
            f"{pyproject}: {key}: no console script or program named "
            f"{', '.join(map(repr, unknown))} is installed; available: {listing}"
        )
    return [available[n] for n in names]


def write_launchers(
    root: Path, entry_points: Sequence[Launchable], settings: LauncherSettings
) -> None:
    bindir = root / "bin"
    bindir.mkdir()
    for ep in entry_points:
        path = bindir / ep.name
        path.write_bytes(render_launcher(ep, settings))
        path.chmod(0o755)


# Bump when the runtime stub's layout or the way it is compiled changes.
STUB_LAYOUT = 1

_STUB_IGNORED = ("__pycache__", "*.pyc", "py.typed")


def add_runtime_stub(root: Path, runtime: Runtime, cache_dir: Path | None = None) -> None:
    """`.pack/runtime/` = the stdlib-only `pack_runtime` package and a `__main__.py`, so the
    launcher can run `python -I -S .pack/runtime ...`; compiled like everything else. With
    `cache_dir`, compiled once per stub and interpreter and linked from the cache: the same
    bytes, since the bytecode names its sources relative to a root of the same shape."""
    bundle = Bundle(root)
    if cache_dir is None:
        _compile_stub(bundle.runtime_dir, bundle.venv_python, bundle.root)
        return
    rel = bundle.runtime_dir.relative_to(bundle.root)
    entry = cache_mod.Cache(cache_dir).entry(cache_mod.STUBS, _stub_key(bundle, runtime))
    cache_mod.provision(
        entry, lambda tmp: _compile_stub(tmp / "root" / rel, bundle.venv_python, tmp / "root")
    )
    copy_tree(entry / "root" / rel, bundle.runtime_dir, hardlink=True)


def _compile_stub(dest: Path, python: Path, strip_prefix: Path) -> None:
    shutil.copytree(
        runtime_stub_package(), dest / "pack_runtime", ignore=shutil.ignore_patterns(*_STUB_IGNORED)
    )
    (dest / "__main__.py").write_text(template("runtime_main.py"), encoding="utf-8")
    compile_tree(python, [dest], strip_prefix, what="the runtime stub")


def _stub_key(bundle: Bundle, runtime: Runtime) -> str:
    """The stub's sources and the interpreter that compiles them (a cross build's builder
    stands in as python/ while the stub is compiled)."""
    package = runtime_stub_package()
    sources = {
        path.relative_to(package).as_posix(): sha256_file(path)
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    main = hashlib.sha256(template("runtime_main.py").encode()).hexdigest()
    home = bundle.python_home
    return cache_mod.cache_key(
        {
            "layout": STUB_LAYOUT,
            "sources": sources,
            "main": main,
            "interpreter": runtime.archive.sha256,
            "builder": str(home.resolve()) if home.is_symlink() else None,
        }
    )


def stage_layers(
    root: Path, runtime: Runtime, env_venv: Path, *, hardlink: bool, builder: Runtime | None = None
) -> None:
    """`python/` and `venv/` from the cached layers, hard-linked where the file system allows:
    nothing may then write to a staged file in place (strip unlinks, installs and compiles
    write new files and rename them, `unshare` copies what an install could overwrite). With
    `builder` (a host interpreter of the same minor version, for a target this host cannot
    run), `python/` is a link to the builder until `swap_in_runtime`, so the app layer is
    installed and compiled by it."""
    bundle = Bundle(root)
    if builder is None:
        copy_tree(runtime.home, bundle.python_home, hardlink=hardlink)
    else:
        bundle.python_home.symlink_to(builder.home)
    copy_tree(env_venv, bundle.venv, hardlink=hardlink)


def _install_targets(venv: Path, runtime: Runtime, files: Sequence[Path]) -> list[Path]:
    """What installing `files` into `venv` may write over: its bin/, and each top-level
    name the wheels put into site-packages or the venv root. Anything but a wheel: the
    whole venv."""
    site = site_packages(venv, runtime)
    targets = [venv / "bin"]
    for f in files:
        if f.suffix != ".whl":
            return [venv]
        with zipfile.ZipFile(f) as whl:
            names = whl.namelist()
        for name in names:
            parts = name.split("/")
            if len(parts) > 2 and parts[0].endswith(".data"):
                scheme, first = parts[1], parts[2]
                if scheme in ("purelib", "platlib"):
                    targets.append(site / first)
                elif scheme == "data":
                    targets.append(venv / first)
                elif scheme == "headers":
                    targets.append(venv / "include")
            elif parts[0]:
                targets.append(site / parts[0])
    return sorted(set(targets))


def unshare(paths: Iterable[Path]) -> None:
    """Give every hard-linked file under `paths` its own copy (same bytes and mode), so that
    writing to it cannot change the cache entry it was linked from."""

    def one(path: Path) -> None:
        st = path.lstat()
        if not path.is_symlink() and path.is_file() and st.st_nlink > 1:
            tmp = path.with_name(f".{path.name}.unshare")
            shutil.copy2(path, tmp)
            tmp.replace(path)

    for top in paths:
        if top.is_symlink() or not top.exists():
            continue
        if not top.is_dir():
            one(top)
            continue
        for folder, _, names in os.walk(top):
            for name in names:
                one(Path(folder) / name)


def swap_in_runtime(root: Path, runtime: Runtime, *, hardlink: bool) -> None:
    """Replace the builder standing in as `python/` (see stage_layers) by the target's."""
    python_home = Bundle(root).python_home
    if python_home.is_symlink():
        python_home.unlink()
        copy_tree(runtime.home, python_home, hardlink=hardlink)


# Arguments: `name=module:attr` (import, then look the attribute path up: it must be callable),
# `name=module` (import), `name=!program` (venv/bin/program must be an executable file).
_SMOKE = r"""
import importlib, json, os, sys, traceback
out = {"prefix": sys.prefix, "base_prefix": sys.base_prefix, "errors": []}
for arg in sys.argv[1:]:
    name, _, ref = arg.partition("=")
    try:
        if ref.startswith("!"):
            if not os.access(os.path.join(sys.prefix, "bin", ref[1:]), os.X_OK):
                raise FileNotFoundError("venv/bin/" + ref[1:] + " is missing or not executable")
            continue
        module, _, attr = ref.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        if attr and not callable(obj):
            raise TypeError(ref + " is " + type(obj).__name__ + ", not a callable")
    except BaseException as exc:
        why = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        shown = "venv/bin/" + ref[1:] if ref.startswith("!") else ref
        out["errors"].append(name + " (" + shown + "): " + why.replace("\n", " "))
print(json.dumps(out))
"""


def _smoke_arg(ep: Launchable) -> str:
    if ep.executable:
        return f"{ep.name}=!{ep.executable}"
    return f"{ep.name}={ep.module}" + (f":{ep.attr}" if ep.attr else "")


def smoke_test(root: Path, entry_points: Sequence[Launchable]) -> None:
    """Run the bundle's own interpreter: the venv must be recognised (sys.prefix is venv/,
    sys.base_prefix is python/), every entry point must resolve to its object (module
    imported, attribute found and callable) and every program must be executable."""
    bundle = Bundle(root)
    args = [_smoke_arg(ep) for ep in entry_points]
    proc = run(
        [bundle.venv_python, "-I", "-B", "-c", _SMOKE, *args],
        what="the smoke test of the bundle",
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
    )
    try:
        report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise BuildError(
            f"the smoke test printed no report: {proc.stdout!r} {proc.stderr!r}"
        ) from exc
    venv, python = bundle.venv.resolve(), bundle.python_home.resolve()
    if Path(report["prefix"]).resolve() != venv or Path(report["base_prefix"]).resolve() != python:
        raise BuildError(
            f"smoke test: the bundled interpreter does not see its venv (sys.prefix="
            f"{report['prefix']}, sys.base_prefix={report['base_prefix']}); this Python build "
            "does not support pyvenv.cfg without home (see cpython issue 135773)"
        )
    if report["errors"]:
        raise BuildError(
            "smoke test: entry points do not resolve: " + "; ".join(report["errors"]) + "; fix "
            "the entry point (the function it names must exist) or the packaging of its module"
        )
