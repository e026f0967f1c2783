"""The relocatable venv: `bin/python` a relative symlink into the runtime, a minimal
`pyvenv.cfg` with no `home`, and the clean-up that keeps installed files free of build-machine
paths and install times."""

from __future__ import annotations

from pathlib import Path

from ._fs import atomic_write_text
from .distinfo import dist_infos, remove_recorded
from .runtime import Runtime


def site_packages(venv: Path, runtime: Runtime) -> Path:
    return venv / "lib" / runtime.stdlib_name / "site-packages"


def create_venv(venv: Path, runtime: Runtime) -> None:
    """Make `venv` beside a `python/` runtime folder (the bundle layout): the interpreter is
    reached through `../../python/bin/<exe>`, so the pair can move anywhere together."""
    bindir = venv / "bin"
    bindir.mkdir(parents=True)
    target = f"../../python/bin/{runtime.exe_name}"
    for name in ("python", "python3", runtime.exe_name):
        (bindir / name).symlink_to(target)
    site_packages(venv, runtime).mkdir(parents=True)
    # No `home`: an absolute one would pin the venv to this machine and CPython does not read
    # a relative one; without it CPython resolves bin/python's symlink to find the runtime.
    # An empty or missing include-system-site-packages would mean "true".
    atomic_write_text(
        venv / "pyvenv.cfg",
        f"include-system-site-packages = false\nversion = {runtime.version}\nrelocatable = true\n",
    )


# Installer records that hold build-machine facts: direct_url.json the absolute path of the
# wheel in the cache, uv_cache.json the time of the install. Neither is needed at run time.
_SCRUBBED = ("direct_url.json", "uv_cache.json")


def scrub_install_records(site: Path) -> list[str]:
    """Remove the records above from every distribution under `site`, and their lines from
    RECORD, so installed files say nothing of where or when they were built. Returns the
    dists touched."""
    touched: list[str] = []
    for dist_info in dist_infos(site):
        present = [name for name in _SCRUBBED if (dist_info / name).exists()]
        if not present:
            continue
        remove_recorded(dist_info, present)
        touched.append(dist_info.name)
    return touched
