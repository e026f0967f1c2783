"""Bad input to `pack build`: one line on stderr saying what, where and what to do, a non-zero
exit, no traceback, and nothing left in the output directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.bundles import APPS, run_pack


def _assert_clean_failure(proc_stderr: str, returncode: int, out_dir: Path, *fragments: str) -> str:
    assert returncode != 0
    assert "Traceback" not in proc_stderr
    lines = [line for line in proc_stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc_stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    leftovers = sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []
    assert leftovers == [], leftovers
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(APPS / "thirdparty", dest)
    return dest


def _build(project: Path, python_archive: Path, cache: Path, *extra: str) -> tuple[str, int, Path]:
    out = project.parent / "dist"
    proc = run_pack(
        ["build", str(project), "--out", str(out), "--python-archive", str(python_archive), *extra],
        cache,
    )
    return proc.stderr, proc.returncode, out


def test_no_pyproject(tmp_path: Path, python_archive: Path, session_cache: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    err, rc, out = _build(empty, python_archive, session_cache)
    _assert_clean_failure(err, rc, out, "no pyproject.toml in", str(empty))


def test_no_lock(project: Path, python_archive: Path, session_cache: Path) -> None:
    (project / "pylock.toml").unlink()
    err, rc, out = _build(project, python_archive, session_cache)
    _assert_clean_failure(err, rc, out, "no lock file in", "uv lock")


def test_lock_without_hashes(project: Path, python_archive: Path, session_cache: Path) -> None:
    lock = project / "pylock.toml"
    text = lock.read_text()
    cut = text.index("wheels = [")
    wheels = text[cut:]
    start = wheels.index(", hashes = {")
    end = wheels.index("}", start) + 1
    lock.write_text(
        text[:cut].replace("sdist = {", "# sdist = {")
        + wheels[:start]
        + ", hashes = {}"
        + wheels[end:]
    )
    err, rc, out = _build(project, python_archive, session_cache)
    line = _assert_clean_failure(err, rc, out, str(lock), "package pyflakes", "regenerate")
    assert "hash" in line


def test_missing_python_archive(project: Path, tmp_path: Path, session_cache: Path) -> None:
    missing = tmp_path / "cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz"
    err, rc, out = _build(project, missing, session_cache)
    _assert_clean_failure(err, rc, out, str(missing), "does not exist")


def test_corrupt_python_archive(project: Path, tmp_path: Path, session_cache: Path) -> None:
    bad = tmp_path / "cpython-3.11.7+20990102-x86_64-unknown-linux-gnu-install_only.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not really gzip" * 100)
    err, rc, out = _build(project, bad, session_cache)
    _assert_clean_failure(err, rc, out, str(bad), "not a readable tar archive")
    assert not any((session_cache / "pythons").glob("*.partial"))


def test_python_archive_with_wrong_checksum(
    project: Path, tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    copy = tmp_path / python_archive.name
    shutil.copy(python_archive, copy)
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  {copy.name}\n")
    err, rc, out = _build(project, copy, session_cache)
    _assert_clean_failure(err, rc, out, str(copy), "0" * 64, "expected")


def test_unknown_entry_point_lists_available(
    project: Path, python_archive: Path, session_cache: Path
) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('entry-points = ["pyflakes"]', 'entry-points = ["pyflake"]')
    )
    err, rc, out = _build(project, python_archive, session_cache)
    _assert_clean_failure(err, rc, out, "'pyflake'", "available: pyflakes", str(pyproject))


def test_unknown_config_key_suggests(
    project: Path, python_archive: Path, session_cache: Path
) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'entry-point = ["x"]\n')
    err, rc, out = _build(project, python_archive, session_cache)
    _assert_clean_failure(
        err, rc, out, "unknown key [tool.pack] 'entry-point'", "did you mean 'entry-points'"
    )


def test_project_wheel_build_failure(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = tmp_path / "compiled"
    shutil.copytree(APPS / "compiled", project)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('version = "1.2.0"', 'dynamic = ["version"]')
    pyproject.write_text(text + '\n[tool.hatch.version]\npath = "src/compiled_app/missing.py"\n')
    err, rc, out = _build(project, python_archive, session_cache)
    # uv reads the project's metadata to check the lock, so hatchling fails there first; the
    # line is hatchling's own explanation, not uv's generic hint.
    line = _assert_clean_failure(
        err,
        rc,
        out,
        str(project),
        "OSError: Error getting the version from source `regex`: file does not exist: "
        "src/compiled_app/missing.py",
        "-v shows the full output",
    )
    assert "hint" not in line
    verbose = run_pack(
        ["-v", "build", str(project), "--out", str(out), "--python-archive", str(python_archive)],
        session_cache,
    )
    assert verbose.returncode != 0
    assert "uv build" in verbose.stderr or "$ " in verbose.stderr


def test_smoke_test_stops_a_bundle_whose_entry_point_cannot_import(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = tmp_path / "compiled"
    shutil.copytree(APPS / "compiled", project)
    pyproject = project / "pyproject.toml"
    # The wheel builds, but without the package the launchers would run.
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.hatch.build.targets.wheel]\npackages = ["src/missing_pkg"]\n'
    )
    shutil.rmtree(project / "src")
    err, rc, out = _build(project, python_archive, session_cache)
    _assert_clean_failure(err, rc, out, "smoke test", "No module named 'compiled_app'")


def test_json_output_is_the_only_stdout(built_bundle: object) -> None:
    from tests.helpers.bundles import Built

    assert isinstance(built_bundle, Built)
    art = built_bundle.result["artifacts"][0]  # type: ignore[index]
    assert set(art) >= {"path", "sha256", "size", "target"}
    assert Path(art["path"]).stat().st_size == art["size"]


def test_build_backend_failure_is_reported_by_the_backends_own_message(
    project: Path, python_archive: Path, session_cache: Path
) -> None:
    """A pylock project (no uv in the planning) whose hatchling configuration is wrong: the
    wheel build fails, and the line is hatchling's exception, not uv's generic hint."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('version = "0.3.0"', 'dynamic = ["version"]')
    pyproject.write_text(
        text
        + '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        + '[tool.hatch.version]\npath = "src/missing.py"\n'
    )
    err, rc, out = _build(project, python_archive, session_cache)
    line = _assert_clean_failure(err, rc, out)
    assert line == (
        f"error: building the wheel of {project} failed (exit 2): OSError: Error getting the "
        "version from source `regex`: file does not exist: src/missing.py; fix the project's "
        "build (try `uv build --wheel` in it) (-v shows the full output)"
    )
    assert rc == 5
