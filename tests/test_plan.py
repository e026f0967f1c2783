"""plan.plan_build: one frozen value with everything a build decides before its slow steps,
and the bad input it refuses while planning (nothing is fetched, installed or built then)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from packager.bundlearchive import ArchiveOptions
from packager.config import load_config
from packager.context import Context, RecordingReporter
from packager.errors import ConfigError
from packager.plan import ExtraDep, PlanOptions, classify_extras, plan_build
from packager.targets import host_target
from packager.timings import StepTimer
from tests.helpers.bundles import APPS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(APPS / "thirdparty", dest)
    return dest


def _pack_table(project: Path, lines: str) -> None:
    pyproject = project / "pyproject.toml"
    text = (APPS / "thirdparty" / "pyproject.toml").read_text()
    pyproject.write_text(text.replace("[tool.pack]\n", f"[tool.pack]\n{lines}\n"))


def test_plan_build_decides_everything_before_the_slow_steps(
    project: Path, python_archive: Path, session_cache: Path, tmp_path: Path
) -> None:
    cfg = load_config(project, {"python-archive": str(python_archive)})
    reporter = RecordingReporter()
    ctx = Context(
        cache_dir=session_cache, reporter=reporter, environ={"SOURCE_DATE_EPOCH": "1700000000"}
    )
    timer = StepTimer()
    plan = plan_build(ctx, cfg, PlanOptions(out_dir=tmp_path / "out", compression_threads=1), timer)

    assert plan.out_dir == tmp_path / "out"
    assert plan.epoch == 1700000000
    assert plan.archive == ArchiveOptions("tar.zst", None, 1, 1700000000)
    assert plan.lock_label == "pylock.toml"
    assert plan.extras == ()
    assert plan.update_signers == ()
    [tb] = plan.targets
    assert tb.target.target == host_target()
    assert tb.target.archive.path == python_archive
    assert tb.target.builder is None
    assert [a.name for a in tb.lock.artifacts] == ["pyflakes"]
    settings = plan.launcher("0.3.0", tb.target)
    assert (settings.name, settings.version) == ("flakes-bundle", "0.3.0")
    assert settings.python_minor == tb.target.archive.minor
    assert set(timer.to_json()) == {"plan", "fetch"}
    # Planning builds nothing: no output folder yet.
    assert not (tmp_path / "out").exists()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.epoch = 0  # type: ignore[misc]


def test_a_compression_level_out_of_range_fails_while_planning(
    project: Path, tmp_path: Path
) -> None:
    # The interpreter archive does not exist: planning stops before it is looked at.
    cfg = load_config(
        project, {"compression-level": 30, "python-archive": str(tmp_path / "missing.tar.gz")}
    )
    with pytest.raises(ConfigError) as err:
        plan_build(Context(cache_dir=tmp_path / "cache"), cfg)
    assert str(err.value) == "compression level 30 is out of range for tar.zst; use 1 to 22"
    assert not (tmp_path / "cache").exists()


def test_local_extra_deps_are_classified_while_planning(project: Path, tmp_path: Path) -> None:
    wheel = tmp_path / "extra-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    other = tmp_path / "other"
    other.mkdir()
    _pack_table(project, f'local-extra-deps = ["{wheel}", "{other}"]')
    assert classify_extras(load_config(project)) == (
        ExtraDep(wheel, "wheel"),
        ExtraDep(other, "project"),
    )

    notes = tmp_path / "notes.txt"
    notes.write_text("not a wheel\n")
    _pack_table(project, f'local-extra-deps = ["{notes}"]')
    cfg = load_config(project, {"python-archive": str(tmp_path / "missing.tar.gz")})
    with pytest.raises(ConfigError) as err:
        plan_build(Context(cache_dir=tmp_path / "cache"), cfg)
    assert str(err.value) == (
        f"{project / 'pyproject.toml'}: [tool.pack] local-extra-deps: {notes} is neither a "
        "wheel nor a project directory"
    )
    assert not (tmp_path / "cache").exists()
