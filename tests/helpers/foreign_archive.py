"""An interpreter archive in python-build-standalone's shape for a platform nothing here can
run (macOS, musl): `python/bin/python3.11` is a real binary of that platform (a compiled
module from a wheel), `python/lib/python3.11/` a few real stdlib sources. Enough to plan,
install, lay out and guard a bundle for it; it is never run."""

from __future__ import annotations

import hashlib
import shutil
import sysconfig
import tempfile
from pathlib import Path

from tests.helpers.python_archive import DEFAULT_TAG, _deterministic_tar

_STDLIB_SAMPLE = ("os.py", "stat.py", "json/__init__.py", "json/decoder.py")


def make_foreign_archive(out_dir: Path, triple: str, binary: Path, version: str = "3.11.9") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"cpython-{version}+{DEFAULT_TAG}-{triple}-install_only_stripped.tar.gz"
    with tempfile.TemporaryDirectory(prefix="pack-foreign-") as tmp:
        py = Path(tmp) / "python"
        (py / "bin").mkdir(parents=True)
        shutil.copyfile(binary, py / "bin" / "python3.11")
        (py / "bin" / "python3.11").chmod(0o755)
        (py / "bin" / "python3").symlink_to("python3.11")
        stdlib = py / "lib" / "python3.11"
        source = Path(sysconfig.get_paths()["stdlib"])
        for rel in _STDLIB_SAMPLE:
            (stdlib / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, stdlib / rel)
        (stdlib / "site-packages").mkdir()
        _deterministic_tar(Path(tmp), out_dir / name)
    digest = hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
    (out_dir / f"{name}.sha256").write_text(f"{digest}  {name}\n")
    return out_dir / name
