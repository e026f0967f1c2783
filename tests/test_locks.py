"""Lock inputs planned for a target: pylock.toml selection by markers and tags (for targets
other than this host), extras and dependency groups in pylock.toml and uv.lock, and hashed
requirements.txt matched to files through the real PyPI index, the cache or a wheelhouse."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from packager.context import Context
from packager.errors import ConfigError, LockError, NetworkError
from packager.install import uv_bin
from packager.locks import LockPlan, find_lock, plan_lock
from packager.locks.requirements import parse_requirements
from packager.targets import Target, marker_environment, supported_tags
from tests.helpers.bundles import APPS

SHA = {name: hashlib.sha256(name.encode()).hexdigest() for name in "abcdefgh"}


def _wheel(filename: str) -> str:
    digest = hashlib.sha256(filename.encode()).hexdigest()
    return f'{{ url = "https://files.example/{filename}", hashes = {{ sha256 = "{digest}" }} }}'


# Never downloaded: planning only reads names, markers, tags and digests.
PYLOCK = f"""
lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.11"
extras = ["color"]
dependency-groups = ["lint", "docs"]
default-groups = ["docs"]

[[packages]]
name = "fast"
version = "1.0"
wheels = [
  {_wheel("fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")},
  {_wheel("fast-1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")},
  {_wheel("fast-1.0-cp312-cp312-musllinux_1_2_x86_64.whl")},
  {_wheel("fast-1.0-cp312-cp312-macosx_11_0_arm64.whl")},
  {_wheel("fast-1.0-cp312-cp312-macosx_10_13_x86_64.whl")},
  {_wheel("fast-1.0-cp312-abi3-manylinux_2_28_x86_64.whl")},
  {_wheel("fast-1.0-py3-none-any.whl")},
]

[[packages]]
name = "winonly"
version = "2.0"
marker = "sys_platform == 'win32'"
wheels = [{_wheel("winonly-2.0-py3-none-any.whl")}]

[[packages]]
name = "armonly"
version = "3.0"
marker = "platform_machine == 'aarch64' or platform_machine == 'arm64'"
wheels = [{_wheel("armonly-3.0-py3-none-any.whl")}]

[[packages]]
name = "oldpy"
version = "4.0"
marker = "python_version < '3.12'"
wheels = [{_wheel("oldpy-4.0-py3-none-any.whl")}]

[[packages]]
name = "colour"
version = "5.0"
marker = "'color' in extras"
wheels = [{_wheel("colour-5.0-py3-none-any.whl")}]

[[packages]]
name = "flake"
version = "6.0"
marker = "'lint' in dependency_groups"
wheels = [{_wheel("flake-6.0-py3-none-any.whl")}]

[[packages]]
name = "sphinxy"
version = "7.0"
marker = "'docs' in dependency_groups"
wheels = [{_wheel("sphinxy-7.0-py3-none-any.whl")}]
"""


@pytest.fixture
def pylock(tmp_path: Path) -> Path:
    path = tmp_path / "pylock.toml"
    path.write_text(PYLOCK)
    return path


def _plan(
    lock: Path,
    triple: str,
    python: str = "3.12.4",
    *,
    glibc: tuple[int, int] | None = None,
    ctx: Context | None = None,
    **kw: object,
) -> LockPlan:
    target = Target(triple)
    minor = tuple(int(p) for p in python.split(".")[:2])
    return plan_lock(
        find_lock(lock.parent, lock),
        uv=uv_bin(),
        environment=marker_environment(target, python),
        tags=supported_tags(target, (minor[0], minor[1]), glibc=glibc),
        ctx=ctx,
        **kw,  # type: ignore[arg-type]
    )


def _files(plan: LockPlan) -> dict[str, str]:
    return {a.name: a.filename for a in plan.artifacts}


@pytest.mark.parametrize(
    ("triple", "fast_wheel", "extra_packages"),
    [
        (
            "x86_64-unknown-linux-gnu",
            "fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            set(),
        ),
        (
            "aarch64-unknown-linux-gnu",
            "fast-1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
            {"armonly"},
        ),
        ("x86_64-unknown-linux-musl", "fast-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", set()),
        ("aarch64-apple-darwin", "fast-1.0-cp312-cp312-macosx_11_0_arm64.whl", {"armonly"}),
        ("x86_64-apple-darwin", "fast-1.0-cp312-cp312-macosx_10_13_x86_64.whl", set()),
    ],
)
def test_pylock_markers_and_tags_for_other_targets(
    pylock: Path, triple: str, fast_wheel: str, extra_packages: set[str]
) -> None:
    plan = _plan(pylock, triple)
    files = _files(plan)
    assert files["fast"] == fast_wheel
    # Markers are the target's: no win32 package anywhere, arm-only on arm targets only,
    # the default group (docs) in, the extra and the other group out.
    assert set(files) == {"fast", "sphinxy"} | extra_packages
    assert plan.source.format == "pylock"
    assert {a.sha256 for a in plan.artifacts} <= {
        hashlib.sha256(f.encode()).hexdigest() for f in files.values()
    }


def test_pylock_glibc_decides_between_manylinux_wheels(pylock: Path) -> None:
    # With glibc 2.28 the newer abi3 wheel is still less specific than the cp312 one...
    assert _files(_plan(pylock, "x86_64-unknown-linux-gnu", glibc=(2, 28)))["fast"] == (
        "fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    # ...and another Python version can only take the abi3 or pure wheel.
    plan = _plan(pylock, "x86_64-unknown-linux-gnu", "3.13.1", glibc=(2, 28))
    assert _files(plan)["fast"] == "fast-1.0-cp312-abi3-manylinux_2_28_x86_64.whl"
    assert "oldpy" not in _files(plan)
    assert "oldpy" in _files(_plan(pylock, "x86_64-unknown-linux-gnu", "3.11.9"))


def test_pylock_extras_and_groups(pylock: Path) -> None:
    triple = "x86_64-unknown-linux-gnu"
    assert set(_files(_plan(pylock, triple, extras=["color"]))) == {"fast", "colour", "sphinxy"}
    # Naming groups replaces the lock's default groups.
    assert set(_files(_plan(pylock, triple, groups=["lint"]))) == {"fast", "flake"}
    both = _files(_plan(pylock, triple, extras=["Color"], groups=["lint", "docs"]))
    assert set(both) == {"fast", "colour", "flake", "sphinxy"}
    # What is installed decides the environment's key.
    assert _plan(pylock, triple).digest != _plan(pylock, triple, extras=["color"]).digest


def test_pylock_unknown_extra_or_group(pylock: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _plan(pylock, "x86_64-unknown-linux-gnu", extras=["colr"])
    assert str(exc.value) == (
        f"{pylock}: extra 'colr' (did you mean 'color'?) is not in the lock's extras; known: color"
    )
    with pytest.raises(ConfigError, match="group 'test' is not in the lock's dependency-groups"):
        _plan(pylock, "x86_64-unknown-linux-gnu", groups=["test"])


def test_pylock_no_wheel_for_the_target_names_the_package(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    wheel = _wheel("linuxonly-1.0-cp312-cp312-manylinux_2_17_x86_64.whl")
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "linuxonly"\n'
        f'version = "1.0"\nwheels = [{wheel}]\n'
    )
    with pytest.raises(LockError) as exc:
        _plan(lock, "aarch64-apple-darwin")
    message = str(exc.value)
    assert message.startswith(f"{lock}: cannot select packages for the target: ")
    assert "'linuxonly'" in message and "no sdist available" in message


UV_PROJECT = """
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.16.0"]

[project.optional-dependencies]
color = ["colorama==0.4.6"]

[dependency-groups]
lint = ["pyflakes==3.2.0"]
dev = ["iniconfig==2.0.0"]
"""


@pytest.fixture(scope="module")
def uv_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real uv.lock (made by `uv lock` against PyPI) with an extra and two groups."""
    project = tmp_path_factory.mktemp("uvlock")
    (project / "pyproject.toml").write_text(UV_PROJECT)
    subprocess.run([uv_bin(), "lock", "--quiet"], cwd=project, check=True)
    return project


def test_uv_lock_extras_and_groups(uv_project: Path) -> None:
    lock = uv_project / "uv.lock"
    triple = "x86_64-unknown-linux-gnu"
    assert set(_files(_plan(lock, triple))) == {"six"}
    assert set(_files(_plan(lock, triple, extras=["color"]))) == {"six", "colorama"}
    assert set(_files(_plan(lock, triple, groups=["lint"]))) == {"six", "pyflakes"}
    # `dev` is uv's default group: left out unless asked for, and then really included.
    assert set(_files(_plan(lock, triple, groups=["dev", "lint"], extras=["color"]))) == {
        "six",
        "pyflakes",
        "iniconfig",
        "colorama",
    }
    plan = _plan(lock, "aarch64-apple-darwin", extras=["color"])
    assert plan.source.format == "uv.lock"
    assert _files(plan)["colorama"] == "colorama-0.4.6-py2.py3-none-any.whl"


def test_uv_lock_unknown_extra_is_named_before_uv_runs(uv_project: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _plan(uv_project / "uv.lock", "x86_64-unknown-linux-gnu", groups=["lnt"])
    assert str(exc.value) == (
        f"{uv_project / 'pyproject.toml'}: group 'lnt' (did you mean 'lint'?) is not in "
        "[dependency-groups]; known: dev, lint"
    )


def test_uv_lock_of_the_compiled_app_for_a_foreign_target() -> None:
    plan = _plan(APPS / "compiled" / "uv.lock", "aarch64-unknown-linux-gnu", "3.11.7")
    wheel = "markupsafe-3.0.2-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    assert _files(plan) == {"markupsafe": wheel}
    assert plan.artifacts[0].sha256 == (
        "2cb8438c3cbb25e220c2ab33bb226559e7afb3baec11c4f218ffa7308603c832"
    )


# requirements.txt --------------------------------------------------------------------------

MARKUPSAFE_HASHES = {
    "x86_64-unknown-linux-gnu": "a123e330ef0853c6e822384873bef7507557d8e4a082961e1defa947aa59ba84",
    "aarch64-apple-darwin": "93335ca3812df2f366e80509ae119189886b0f3c2b81325d39efdb84a1e2ae93",
    "x86_64-unknown-linux-musl": "0bff5e0ae4ef2e1ae4fdf2dfd5b76c75e5c2fa4132d05fc1b0dabcd20c7e28c4",
    "sdist": "ee55d3edf80167e48ea11a923c7386f4669df67d7994554387f84e7d8b0a2bf0",
}
PYFLAKES_WHEEL = "84b5be138a2dfbb40689ca07e2152deb896a65c3a3e24c251c5c62489568074a"
PYFLAKES_SDIST = "1c61603ff154621fb2a9172037d84dca3500def8c8b630657d1701f026f8af3f"


def _requirements(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


REQUIREMENTS = (
    "# pinned by hand for the test\n"
    "markupsafe==3.0.2 \\\n"
    + "".join(f"    --hash=sha256:{h} \\\n" for h in MARKUPSAFE_HASHES.values())
    + "    # via app\n"
    "PyFlakes==3.2.0 ; python_version >= '3.8' "
    f"--hash=sha256:{PYFLAKES_WHEEL} --hash=sha256:{PYFLAKES_SDIST}\n"
    'colorama==0.4.6 ; sys_platform == "win32" \\\n'
    "    --hash=sha256:4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6\n"
)


def test_requirements_parse(tmp_path: Path) -> None:
    rf = parse_requirements(_requirements(tmp_path, REQUIREMENTS), allow_unhashed=False)
    assert [(p.name, p.version, p.line) for p in rf.requirements] == [
        ("markupsafe", "3.0.2", 2),
        ("pyflakes", "3.2.0", 8),
        ("colorama", "0.4.6", 9),
    ]
    assert rf.requirements[0].hashes == frozenset(MARKUPSAFE_HASHES.values())
    assert rf.index_urls == ("https://pypi.org/simple",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "six==1.16.0 --hash=sha256:" + "1" * 64 + "\npyflakes==3.2.0\n",
            "{path}:2: pyflakes==3.2.0 has no --hash; pack installs only files it can verify: "
            "regenerate it with `uv pip compile --generate-hashes` (or `uv export --format "
            "requirements-txt`), or pass --allow-unhashed (allow-unhashed = true) to trust the "
            "index's digests",
        ),
        (
            "six>=1.0 --hash=sha256:" + "1" * 64 + "\n",
            "{path}:1: six>=1.0 is not pinned with ==; a requirements lock pins every package "
            "to one version: regenerate it with `uv pip compile --generate-hashes` (or `uv "
            "export --format requirements-txt`)",
        ),
        (
            "-e git+https://example.invalid/plugin.git#egg=plugin\n",
            "{path}:1: git+https://example.invalid/plugin.git#egg=plugin is a vcs or remote "
            "source, which has no hash to verify; depend on a released version, or build it "
            "into a wheel and list the wheel in [tool.pack] local-extra-deps",
        ),
        (
            "six==1.16.0 --hash=md5:abc\n",
            "{path}:1: six==1.16.0 has no sha256 --hash (md5 only); pack verifies sha256 "
            "digests: regenerate it with `uv pip compile --generate-hashes` (or `uv export "
            "--format requirements-txt`)",
        ),
        (
            "six @ https://example.com/six-1.16.0-py2.py3-none-any.whl\n",
            "{path}:1: six @ https://example.com/six-1.16.0-py2.py3-none-any.whl: direct "
            "references are not read from requirements files; use a pylock.toml, or list the "
            "file in local-extra-deps",
        ),
    ],
)
def test_requirements_refused_lines_name_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _requirements(tmp_path, text)
    with pytest.raises(LockError) as exc:
        parse_requirements(path, allow_unhashed=False)
    assert str(exc.value) == message.format(path=path.absolute())


def test_requirements_unhashed_allowed_trusts_the_index(tmp_path: Path) -> None:
    path = _requirements(tmp_path, "pyflakes==3.2.0\n")
    rf = parse_requirements(path, allow_unhashed=True)
    assert rf.requirements[0].hashes == frozenset()
    ctx = Context(cache_dir=tmp_path / "cache")
    plan = _plan(path, "x86_64-unknown-linux-gnu", ctx=ctx, allow_unhashed=True)
    assert [(a.filename, a.sha256) for a in plan.artifacts] == [
        ("pyflakes-3.2.0-py2.py3-none-any.whl", PYFLAKES_WHEEL)
    ]


def test_requirements_through_the_index_for_several_targets_then_offline(tmp_path: Path) -> None:
    path = _requirements(tmp_path, REQUIREMENTS)
    cache = tmp_path / "cache"
    online = Context(cache_dir=cache)
    plans = {t: _plan(path, t, "3.11.7", ctx=online) for t in MARKUPSAFE_HASHES if t != "sdist"}
    for triple, plan in plans.items():
        by_name = {a.name: a for a in plan.artifacts}
        assert set(by_name) == {"markupsafe", "pyflakes"}  # colorama is win32-only
        assert by_name["markupsafe"].sha256 == MARKUPSAFE_HASHES[triple]
        assert by_name["markupsafe"].url and by_name["markupsafe"].url.startswith("https://")
        assert by_name["pyflakes"].filename == "pyflakes-3.2.0-py2.py3-none-any.whl"
        assert plan.source.format == "requirements"
    # What the index listed is kept: offline planning gives the same plans.
    offline = Context(cache_dir=cache, offline=True)
    for triple, plan in plans.items():
        assert _plan(path, triple, "3.11.7", ctx=offline) == plan
    # A platform the pinned hashes have no wheel for falls back to the listed sdist.
    plan = _plan(path, "aarch64-unknown-linux-musl", "3.11.7", ctx=offline)
    assert {a.name: a.kind for a in plan.artifacts} == {"markupsafe": "sdist", "pyflakes": "wheel"}


def test_requirements_offline_from_a_wheelhouse_or_failing_clearly(tmp_path: Path) -> None:
    path = _requirements(
        tmp_path, f"pyflakes==3.2.0 --hash=sha256:{PYFLAKES_WHEEL} --hash=sha256:{PYFLAKES_SDIST}\n"
    )
    offline = Context(cache_dir=tmp_path / "cache", offline=True)
    with pytest.raises(NetworkError) as exc:
        _plan(path, "x86_64-unknown-linux-gnu", ctx=offline)
    assert str(exc.value) == (
        f"offline: no file of pyflakes==3.2.0 ({path.absolute()}:1) is in the cache or a "
        "--find-links directory; run `pack fetch --dest DIR` with network access and build "
        "with --find-links DIR"
    )
    # The same pin planned from a wheelhouse alone (filled here from PyPI, through pack).
    house = tmp_path / "house"
    house.mkdir()
    online_plan = _plan(path, "x86_64-unknown-linux-gnu", ctx=Context(cache_dir=tmp_path / "c2"))
    from packager.wheels import obtain

    wheel = obtain(Context(cache_dir=tmp_path / "c2"), online_plan.artifacts[0])
    shutil.copy(wheel, house / wheel.name)
    plan = _plan(path, "x86_64-unknown-linux-gnu", ctx=offline, find_links=[house])
    assert [(a.filename, a.sha256, a.url) for a in plan.artifacts] == [
        ("pyflakes-3.2.0-py2.py3-none-any.whl", PYFLAKES_WHEEL, None)
    ]


def test_requirements_refuse_extras_and_groups(tmp_path: Path) -> None:
    path = _requirements(tmp_path, REQUIREMENTS)
    with pytest.raises(ConfigError, match="a requirements file is already the whole closure"):
        _plan(path, "x86_64-unknown-linux-gnu", ctx=Context(cache_dir=tmp_path), extras=["x"])


def test_find_lock_order_and_requirements_discovery(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("")
    assert find_lock(tmp_path, None).format == "requirements"
    (tmp_path / "uv.lock").write_text("")
    assert find_lock(tmp_path, None).format == "uv.lock"
    (tmp_path / "pylock.toml").write_text("")
    assert find_lock(tmp_path, None).format == "pylock"
    assert find_lock(tmp_path, tmp_path / "requirements.txt").format == "requirements"
    assert find_lock(tmp_path, None).ignored == (
        tmp_path / "uv.lock",
        tmp_path / "requirements.txt",
    )
    assert find_lock(tmp_path, tmp_path / "requirements.txt").ignored == ()


DIRECTORIES = """
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "app"
directory = { path = ".", editable = true }

[[packages]]
name = "lib"
directory = { path = "packages/lib", editable = true }

[[packages]]
name = "util"
directory = { path = "../util" }
"""


def test_pylock_directories_the_project_is_left_out_others_are_planned(tmp_path: Path) -> None:
    project = tmp_path / "app"
    for folder in (project, project / "packages" / "lib", tmp_path / "util"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")
    (project / "pylock.toml").write_text(DIRECTORIES)
    plan = _plan(project / "pylock.toml", "x86_64-unknown-linux-gnu", project_dir=project)
    assert plan.project_listed
    assert plan.artifacts == ()
    assert [(d.name, d.path, d.editable) for d in plan.directories] == [
        ("lib", (project / "packages" / "lib").resolve(), True),
        ("util", (tmp_path / "util").resolve(), False),
    ]
    # Seen from another project, "." is just a directory to build.
    other = _plan(project / "pylock.toml", "x86_64-unknown-linux-gnu", project_dir=tmp_path)
    assert not other.project_listed
    assert [d.name for d in other.directories] == ["app", "lib", "util"]


def test_pylock_directory_that_is_not_a_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "app"
    (project / "packages" / "lib").mkdir(parents=True)
    (project / "pylock.toml").write_text(DIRECTORIES.split('[[packages]]\nname = "util"')[0])
    with pytest.raises(LockError) as err:
        _plan(project / "pylock.toml", "x86_64-unknown-linux-gnu", project_dir=project)
    assert str(err.value) == (
        f"{project / 'pylock.toml'}: packages[1] (lib): directory packages/lib "
        f"({(project / 'packages' / 'lib').resolve()}) has no pyproject.toml or setup.py, so it "
        "cannot be built; point the lock at a project"
    )
    shutil.rmtree(project / "packages")
    with pytest.raises(LockError, match=r"directory packages/lib \(.*\) does not exist; restore"):
        _plan(project / "pylock.toml", "x86_64-unknown-linux-gnu", project_dir=project)


def test_pylock_vcs_package_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "tool"\n'
        'vcs = { type = "git", url = "https://example.invalid/tool.git", commit-id = "'
        + "a" * 40
        + '" }\n'
    )
    with pytest.raises(LockError) as err:
        _plan(tmp_path / "pylock.toml", "x86_64-unknown-linux-gnu", project_dir=tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'pylock.toml'}: packages[0] (tool) is a vcs source "
        "(https://example.invalid/tool.git), which has no hash to verify; depend on a released "
        "version, or build it into a wheel and list the wheel in [tool.pack] local-extra-deps"
    )


def test_pylock_requires_python_of_the_lock_and_of_a_package(pylock: Path) -> None:
    with pytest.raises(LockError) as err:
        _plan(pylock, "x86_64-unknown-linux-gnu", "3.10.14")
    assert str(err.value) == (
        f"{pylock}: requires-python is >=3.11, which excludes the interpreter (Python 3.10.14); "
        'build with --python 3.11 (or [tool.pack] python = "3.11")'
    )
    pylock.write_text(
        PYLOCK.replace('name = "fast"\n', 'name = "fast"\nrequires-python = "<3.12"\n')
    )
    with pytest.raises(LockError) as err:
        _plan(pylock, "x86_64-unknown-linux-gnu", "3.12.4")
    assert str(err.value) == (
        f"{pylock}: packages[0] (fast) requires-python is <3.12, which excludes the interpreter "
        '(Python 3.12.4); build with --python 3.11 (or [tool.pack] python = "3.11")'
    )


def test_uv_export_keeps_its_cache_inside_pack_s(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "XDG_"))} | {
        "HOME": str(home)
    }
    ctx = Context(cache_dir=tmp_path / "pack-cache", environ=environ)
    plan = _plan(APPS / "compiled" / "uv.lock", "x86_64-unknown-linux-gnu", ctx=ctx)
    assert plan.artifacts
    assert not (home / ".cache").exists()
    assert (tmp_path / "pack-cache" / "uv").is_dir()
