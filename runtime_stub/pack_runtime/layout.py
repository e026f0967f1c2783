"""Where things are inside a bundle (`bin/`, `python/`, `venv/`, `.pack/`) and in the directory
that holds it (the `current` symlink): the one place these names are spelled, for the stub and
for pack. Paths only: reading and writing happen in the callers."""

from __future__ import annotations

import os
from pathlib import Path

# Paths relative to a bundle's top folder, POSIX-style as archives and `.pack/files` name them.
BIN = "bin"  # the launchers
PYTHON = "python"  # the python-build-standalone tree
VENV = "venv"
PYVENV_CFG = "venv/pyvenv.cfg"
VENV_PYTHON = "venv/bin/python"
PACK_DIR = ".pack"
BUNDLE_JSON = ".pack/bundle.json"
FILES_LIST = ".pack/files"
RUNTIME_DIR = ".pack/runtime"  # the self-management stub
SBOM_FILE = ".pack/sbom.cdx.json"

# Files every pack bundle has; a directory without them is never updated from or removed.
MARKERS = (BUNDLE_JSON, FILES_LIST, PYVENV_CFG)
CURRENT = "current"


class Bundle:
    """A bundle directory. `root` is kept as given (the launcher passes a physical path);
    `real_root` is what renames and symlink comparisons use."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"Bundle({str(self.root)!r})"

    @property
    def real_root(self) -> Path:
        return Path(os.path.realpath(self.root))

    @property
    def pack_dir(self) -> Path:
        return self.root / PACK_DIR

    @property
    def bundle_json(self) -> Path:
        return self.root / BUNDLE_JSON

    @property
    def files_list(self) -> Path:
        return self.root / FILES_LIST

    @property
    def sbom(self) -> Path:
        return self.root / SBOM_FILE

    @property
    def runtime_dir(self) -> Path:
        return self.root / RUNTIME_DIR

    @property
    def python_home(self) -> Path:
        return self.root / PYTHON

    @property
    def venv(self) -> Path:
        return self.root / VENV

    @property
    def venv_python(self) -> Path:
        return self.root / VENV_PYTHON

    @property
    def bin_dir(self) -> Path:
        return self.root / BIN

    def launcher(self, entry: str) -> Path:
        return self.root / BIN / entry

    def site_packages(self) -> list[Path]:
        # Globbed rather than built from sys.version_info: the stub may be asked about a
        # bundle of another Python (an update candidate), and free-threaded builds use
        # lib/python3.13t.
        lib = self.venv / "lib"
        return sorted(p for p in lib.glob("python3*/site-packages") if p.is_dir())

    def missing_markers(self) -> list[str]:
        return [m for m in MARKERS if not (self.root / m).is_file()]

    def current_links(self) -> tuple[Path, ...]:
        """Symlinks named `current` that lead to this bundle: the one beside its real
        directory (`/opt/app/current -> 1.4.2`), and the root itself when it was given as
        such a link."""
        real = self.real_root
        candidates = [real.parent / CURRENT, self.root.parent / CURRENT]
        if self.root.name == CURRENT:
            candidates.append(self.root)
        found: list[Path] = []
        for link in candidates:
            if link in found or not link.is_symlink():
                continue
            if Path(os.path.realpath(link)) == real:
                found.append(link)
        return tuple(found)
