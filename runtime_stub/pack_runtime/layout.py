"""Where things are inside a bundle (`bin/`, `venv/`, `.pack/`) and in the directory that
holds it (the `current` symlink). Paths only: reading and writing happen in the callers."""

from __future__ import annotations

import os
from pathlib import Path

# Files every pack bundle has; a directory without them is never updated from or removed.
MARKERS = (".pack/bundle.json", ".pack/files", "venv/pyvenv.cfg")
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
    def bundle_json(self) -> Path:
        return self.root / ".pack" / "bundle.json"

    @property
    def runtime_dir(self) -> Path:
        return self.root / ".pack" / "runtime"

    @property
    def venv_python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    def launcher(self, entry: str) -> Path:
        return self.root / "bin" / entry

    def site_packages(self) -> list[Path]:
        # Globbed rather than built from sys.version_info: the stub may be asked about a
        # bundle of another Python (an update candidate), and free-threaded builds use
        # lib/python3.13t.
        lib = self.root / "venv" / "lib"
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
