"""The same inputs give the same archive bytes: a second checkout built with another cache,
umask, time zone, locale and thread count matches the session's build; a changed source file
changes the archive."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pack_runtime.filelist import scan_tree
from packager.timings import STEPS
from tests.helpers.bundles import APPS, Built, pack_env


def _build(
    project: Path, python_archive: Path, cache: Path, *, umask: int, **env: str
) -> dict[str, object]:
    argv = [
        sys.executable,
        "-m",
        "packager.cli",
        "build",
        str(project),
        "--python-archive",
        str(python_archive),
        "--json",
        *env.pop("extra", "").split(),
    ]
    proc = subprocess.run(
        argv,
        env=pack_env(cache, **env),
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: os.umask(umask),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_rebuild_elsewhere_is_bit_identical_and_a_change_shows(
    built_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    checkout = tmp_path / "another checkout" / "compiled"
    shutil.copytree(
        APPS / "compiled", checkout, ignore=shutil.ignore_patterns("dist", "__pycache__")
    )
    cache = tmp_path / "other-cache"
    result = _build(
        checkout,
        python_archive,
        cache,
        umask=0o077,
        TZ="Pacific/Kiritimati",
        LANG="de_DE.UTF-8",
        LC_ALL="de_DE.UTF-8",
        extra="--compression-threads 1",
    )
    art = result["artifacts"][0]  # type: ignore[index]
    first = built_bundle.result["artifacts"][0]  # type: ignore[index]
    assert art["sha256"] == first["sha256"]
    assert Path(art["path"]).read_bytes() == built_bundle.archive.read_bytes()
    sbom = Path(art["path"] + ".cdx.json").read_bytes()
    assert (
        sbom == built_bundle.archive.with_name(built_bundle.archive.name + ".cdx.json").read_bytes()
    )

    # Every step ran and was timed; together they are the whole build.
    timings = result["timings"]
    assert set(timings) == set(STEPS)  # type: ignore[arg-type]
    assert sum(timings.values()) <= result["seconds"] + 0.01  # type: ignore[union-attr,operator]

    # Warm: the compressed runtime and locked packages come from the cache (made by the build
    # above), the dependency layer is hard-linked from it; same bytes, cached entries unchanged.
    [env_entry] = (cache / "envs").glob("*/venv")
    before = scan_tree(env_entry)
    segments = {p: p.stat().st_mtime_ns for p in (cache / "frames").glob("*/segment")}
    assert len(segments) >= 2  # python/ and at least one run of site-packages
    warm = _build(checkout, python_archive, cache, umask=0o022, extra="--compression-threads 2")
    assert warm["artifacts"][0]["sha256"] == first["sha256"]  # type: ignore[index]
    assert {p: p.stat().st_mtime_ns for p in (cache / "frames").glob("*/segment")} == segments
    archived = built_bundle.archive.read_bytes()
    assert all(p.read_bytes() in archived for p in segments)

    main = checkout / "src/compiled_app/admin.py"
    main.write_text(main.read_text().replace('"admin:"', '"admin says:"'))
    changed = _build(checkout, python_archive, cache, umask=0o022, extra="--compression-threads 2")
    assert changed["provisioned"] == {"runtime": False, "environment": False}
    assert changed["artifacts"][0]["sha256"] != first["sha256"]  # type: ignore[index]
    assert scan_tree(env_entry) == before
    # The changed app is compressed with the rest; no cached segment had to change.
    assert set((cache / "frames").glob("*/segment")) == set(segments)


def test_source_date_epoch_sets_the_recorded_time(
    built_bundle: Built, python_archive: Path, tmp_path: Path
) -> None:
    checkout = tmp_path / "thirdparty"
    shutil.copytree(APPS / "thirdparty", checkout)
    result = _build(
        checkout,
        python_archive,
        built_bundle.cache_dir,
        umask=0o022,
        SOURCE_DATE_EPOCH="1700000000",
    )
    listing = subprocess.run(
        ["tar", "--zstd", "-tvf", result["artifacts"][0]["path"]],  # type: ignore[index]
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "2023-11-14" in listing.splitlines()[0]
    meta = subprocess.run(
        [
            "tar",
            "--zstd",
            "-xOf",
            result["artifacts"][0]["path"],
            "flakes-bundle-0.3.0/.pack/bundle.json",
        ],  # type: ignore[index]
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sbom = Path(result["artifacts"][0]["path"] + ".cdx.json")  # type: ignore[index]
    assert json.loads(sbom.read_text())["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert json.loads(meta)["build"] == {
        "source_date_epoch": 1700000000,
        "time": "2023-11-14T22:13:20Z",
    }
