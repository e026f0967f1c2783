"""Real binaries of other platforms for the architecture guard's tests: the compiled module of
markupsafe 3.0.2 from its musllinux, manylinux and macOS wheels on PyPI (URLs and sha256 taken
from the compiled test app's uv.lock), fetched and verified through pack's own cache."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

from packager.context import Context
from packager.locks import Artifact
from packager.wheels import obtain
from tests.helpers.bundles import APPS


def markupsafe_wheel(cache_dir: Path, platform: str) -> Path:
    """The cp311 markupsafe wheel whose file name has `platform` (e.g. `macosx_11_0_arm64`)."""
    lock = tomllib.loads((APPS / "compiled" / "uv.lock").read_text())
    package = next(p for p in lock["package"] if p["name"] == "markupsafe")
    for wheel in package["wheels"]:
        filename = wheel["url"].rsplit("/", 1)[-1]
        if "-cp311-cp311-" in filename and platform in filename:
            artifact = Artifact(
                name="markupsafe",
                version="3.0.2",
                kind="wheel",
                filename=filename,
                url=wheel["url"],
                path=None,
                sha256=wheel["hash"].removeprefix("sha256:"),
            )
            return obtain(Context(cache_dir=cache_dir), artifact)
    raise LookupError(f"no cp311 markupsafe wheel for {platform} in the compiled app's lock")


def speedups(cache_dir: Path, platform: str, dest: Path) -> Path:
    """The wheel's `markupsafe/_speedups*.so`, extracted to `dest/<platform>.so`."""
    with zipfile.ZipFile(markupsafe_wheel(cache_dir, platform)) as zf:
        name = next(
            n for n in zf.namelist() if n.startswith("markupsafe/_speedups") and n.endswith(".so")
        )
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{platform}.so"
        out.write_bytes(zf.read(name))
    return out
