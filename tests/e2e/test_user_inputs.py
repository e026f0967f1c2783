"""What users bring must build (issue 10): locks made by the real clients during the session
(`uv lock`, `uv export --format pylock.toml` with its defaults, `pip lock -e .` from a pip >= 25.1
in a throwaway venv, `uv pip compile --generate-hashes`), uv workspaces and path dependencies,
a wheel with a native program (ruff), and the inputs that must fail early with one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from packager.targets import host_target
from packager.uvtool import uv_bin
from tests.helpers.bundles import bwrap_argv, run_app, run_pack, unpack

pytestmark = pytest.mark.slow

HATCHLING = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
# The caller's environment (proxy and CA settings reach PyPI), never a virtualenv's.
ENV = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
UV_ENV = {**ENV, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def write_project(
    root: Path,
    name: str,
    *,
    dependencies: list[str] = (),  # type: ignore[assignment]
    scripts: dict[str, str] | None = None,
    build_system: bool = True,
    code: str = "",
    extra: str = "",
    requires_python: str = ">=3.11",
) -> Path:
    """A small real project: `src/<module>/__init__.py` holding `code`."""
    module = name.replace("-", "_")
    (root / "src" / module).mkdir(parents=True)
    (root / "src" / module / "__init__.py").write_text(textwrap.dedent(code))
    deps = ", ".join(json.dumps(d) for d in dependencies)
    text = (
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
        f'requires-python = "{requires_python}"\ndependencies = [{deps}]\n'
    )
    if scripts:
        text += "[project.scripts]\n" + "".join(f'{k} = "{v}"\n' for k, v in scripts.items())
    if build_system:
        text += HATCHLING
    (root / "pyproject.toml").write_text(text + extra)
    return root


def uv(*args: str | Path, cwd: Path) -> str:
    proc = subprocess.run(
        [str(uv_bin()), *map(str, args)],
        cwd=cwd,
        env=UV_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def uv_lock(project: Path) -> None:
    uv("lock", "--python", sys.executable, cwd=project)


@pytest.fixture(scope="session")
def pip_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip >= 25.1 (which has `pip lock`) in a throwaway venv, once per session."""
    venv = tmp_path_factory.mktemp("pip-lock") / "venv"
    uv("venv", "--python", sys.executable, venv, cwd=venv.parent)
    uv("pip", "install", "--python", venv / "bin" / "python", "pip>=25.1", cwd=venv.parent)
    return venv / "bin" / "pip"


def build(
    project: Path, python_archive: Path, cache: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return run_pack(
        [
            *(["-v"] if "-v" in extra else []),
            "build",
            str(project),
            "--out",
            str(project / "dist"),
            "--python-archive",
            str(python_archive),
            *[e for e in extra if e != "-v"],
        ],
        cache,
    )


def built_root(project: Path, proc: subprocess.CompletedProcess[str], dest: Path) -> Path:
    assert proc.returncode == 0, proc.stderr
    archive = Path(json.loads(proc.stdout)["artifacts"][0]["path"])
    return unpack(archive, dest)


def assert_fails(
    proc: subprocess.CompletedProcess[str], project: Path, exit_code: int, message: str
) -> None:
    """One line on stderr, exactly `error: <message>`, the exit code, no traceback, and
    nothing in dist/."""
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {message}"], proc.stderr
    assert proc.returncode == exit_code
    dist = project / "dist"
    assert not dist.exists() or sorted(p.name for p in dist.iterdir()) == []


HELLO = """
def main():
    import pyflakes
    print("hello from", __name__, "with pyflakes", pyflakes.__version__)
"""


def test_uv_export_pylock_with_its_defaults_builds_and_runs(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    """`uv export --format pylock.toml` lists the project as an editable directory: it is the
    project itself, left out of the lock; uv.lock beside it is ignored, and the output says so."""
    project = write_project(
        tmp_path / "exported",
        "exported",
        dependencies=["pyflakes==3.2.0"],
        scripts={"exported": "exported:main"},
        code=HELLO,
    )
    uv_lock(project)
    uv("export", "--format", "pylock.toml", "-o", "pylock.toml", cwd=project)
    assert 'path = ".", editable = true' in (project / "pylock.toml").read_text()
    proc = build(project, python_archive, session_cache, "-v", "--json")
    assert "pylock.toml lists the project itself; it is left out of the lock" in proc.stderr
    assert (
        f"warning: {project} has several lock files: using pylock.toml, ignoring uv.lock; "
        'choose one with [tool.pack] lock = "..." in pyproject.toml'
    ) in proc.stderr
    assert json.loads(proc.stdout)["lock"] == "pylock.toml"
    root = built_root(project, proc, tmp_path / "out")
    run = run_app(root / "bin" / "exported")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "hello from exported with pyflakes 3.2.0\n"
    info = json.loads((root / ".pack" / "bundle.json").read_text())
    assert info["local_packages"] == []
    assert info["lock"]["path"] == "pylock.toml"


def test_pip_lock_of_the_project_builds_and_runs(
    tmp_path: Path, python_archive: Path, session_cache: Path, pip_lock: Path
) -> None:
    project = write_project(
        tmp_path / "piplocked",
        "piplocked",
        dependencies=["pyflakes==3.2.0"],
        scripts={"piplocked": "piplocked:main"},
        code=HELLO,
    )
    subprocess.run(
        [pip_lock, "lock", "-e", ".", "-o", "pylock.toml", "--quiet"],
        cwd=project,
        check=True,
        env=ENV,
    )
    lock = (project / "pylock.toml").read_text()
    assert 'created-by = "pip"' in lock
    assert re.search(r'\[packages.directory\]\npath = "\."\neditable = true', lock), lock
    proc = build(project, python_archive, session_cache)
    assert proc.returncode == 0, proc.stderr
    # The summary says which lock was used; one lock file: nothing to warn about.
    summary, timing = proc.stderr.splitlines()
    assert summary.startswith(f"built piplocked 0.1.0 for {host_target()} from pylock.toml: ")
    assert timing.endswith("s; launchers: piplocked")
    root = unpack(Path(proc.stdout.strip()), tmp_path / "out")
    run = run_app(root / "bin" / "piplocked")
    assert run.stdout == "hello from piplocked with pyflakes 3.2.0\n", run.stderr

    # The same lock against a project that has since raised a pin and gained a dependency:
    # refused while planning, naming what conflicts and what is missing.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"pyflakes==3.2.0"', '"pyflakes>=3.3", "six>=1.16"')
    )
    (project / "dist").rename(tmp_path / "first-dist")
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'pylock.toml'} does not satisfy {pyproject}: pyflakes>=3.3 "
        "(dependencies): the lock has pyflakes 3.2.0; six>=1.16 (dependencies) is not in the "
        "lock; regenerate it (`uv export --format pylock.toml -o pylock.toml`, or "
        "`pip lock -e . -o pylock.toml`)",
    )


def _workspace(tmp_path: Path) -> Path:
    """app (the workspace root) depends on `lib`, a workspace member, and on `util`, a path
    dependency outside the workspace; lib itself depends on pyflakes from PyPI."""
    root = tmp_path / "ws"
    write_project(
        root / "packages" / "lib",
        "lib",
        dependencies=["pyflakes==3.2.0"],
        code="import pyflakes\nX = 'lib with pyflakes ' + pyflakes.__version__\n",
    )
    write_project(tmp_path / "util", "util", code="Y = 'util'\n")
    write_project(
        root,
        "app",
        dependencies=["lib", "util"],
        scripts={"app": "app:main"},
        code="def main():\n    import lib, util\n    print(lib.X, '+', util.Y)\n",
        extra=(
            '[tool.uv.sources]\nlib = { workspace = true }\nutil = { path = "../util" }\n'
            '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        ),
    )
    uv_lock(root)
    return root


def test_uv_workspace_member_and_path_dependency_are_built_and_recorded(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = _workspace(tmp_path)
    proc = build(project, python_archive, session_cache, "--json")
    root = built_root(project, proc, tmp_path / "out")
    run = run_app(root / "bin" / "app")
    assert run.stdout == "lib with pyflakes 3.2.0 + util\n", run.stderr
    info = json.loads((root / ".pack" / "bundle.json").read_text())
    packages = info["local_packages"]
    assert [(p["name"], p["version"], p["path"]) for p in packages] == [
        ("lib", "0.1.0", "packages/lib"),
        ("util", "0.1.0", "../util"),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{64}", p["sha256"]) for p in packages)
    # Installed as wheels, not as editable links back into the build machine.
    site = next((root / "venv" / "lib").glob("python3*/site-packages"))
    assert (site / "lib" / "__init__.py").is_file()
    assert not list(site.glob("*.pth"))
    # `pack run` builds them too.
    ran = run_pack(["run", str(project), "--python-archive", str(python_archive)], session_cache)
    assert ran.stdout == "lib with pyflakes 3.2.0 + util\n", ran.stderr

    # So does `uv export --format requirements-txt` with its defaults (`-e .`, `-e ./packages/lib`).
    uv("export", "--format", "requirements-txt", "-o", "requirements.txt", cwd=project)
    assert "-e ./packages/lib" in (project / "requirements.txt").read_text()
    (project / "uv.lock").unlink()
    (project / "dist").rename(tmp_path / "first-dist")
    proc = build(project, python_archive, session_cache, "--json")
    root = built_root(project, proc, tmp_path / "out-requirements")
    run = run_app(root / "bin" / "app")
    assert run.stdout == "lib with pyflakes 3.2.0 + util\n", run.stderr
    info = json.loads((root / ".pack" / "bundle.json").read_text())
    assert [p["path"] for p in info["local_packages"]] == ["packages/lib", "../util"]
    assert info["lock"]["format"] == "requirements"


def test_two_distributions_installing_the_same_script_fail_the_build(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    for name in ("alpha", "beta"):
        write_project(
            tmp_path / name,
            name,
            scripts={"tool": f"{name}:main"},
            code=f"def main():\n    print({name!r})\n",
        )
    project = write_project(
        tmp_path / "clash",
        "clash",
        dependencies=["alpha", "beta"],
        scripts={"clash": "clash:main"},
        code="def main():\n    pass\n",
        extra='[tool.uv.sources]\nalpha = { path = "../alpha" }\nbeta = { path = "../beta" }\n',
    )
    uv_lock(project)
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        5,
        "venv/bin/tool is installed by both alpha 0.1.0 and beta 0.1.0: the later install "
        "overwrote the other's file; keep only one of them (in the lock, the project's "
        "dependencies or local-extra-deps)",
    )


def test_stale_uv_lock_fails_before_anything_is_built(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = write_project(
        tmp_path / "stale", "stale", dependencies=["pyflakes==3.2.0"], scripts={"stale": "stale:x"}
    )
    uv_lock(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"pyflakes==3.2.0"', '"pyflakes==3.2.0", "six"')
    )
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'uv.lock'} is out of date with {pyproject} (uv says: The lockfile at "
        "`uv.lock` needs to be updated, but `--locked` was provided.); run `uv lock` and commit "
        "the result (-v shows the full output)",
    )


def _dateutil_requirements(project: Path) -> str:
    (project / "requirements.in").write_text("python-dateutil==2.9.0.post0\n")
    uv(
        "pip", "compile", "--generate-hashes", "--no-header", "--no-annotate",
        "--python-version", "3.11", "requirements.in", "-o", "requirements.txt", cwd=project,
    )  # fmt: skip
    return (project / "requirements.txt").read_text()


def test_incomplete_hashed_requirements_fail_with_the_missing_requirement(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = write_project(
        tmp_path / "dates",
        "dates",
        dependencies=["python-dateutil"],
        scripts={"dates": "dates:main"},
        code="def main():\n    import dateutil\n",
    )
    full = _dateutil_requirements(project)
    # The file as compiled, minus the dependency of python-dateutil (six).
    blocks = re.split(r"\n(?=\S)", full.strip())
    assert [b.split("==")[0] for b in blocks] == ["python-dateutil", "six"]
    (project / "requirements.txt").write_text(blocks[0] + "\n")
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        5,
        "the bundle's venv does not hold what its packages require: python-dateutil requires "
        "six>=1.5, but six is not installed; the lock is not the whole closure: regenerate it "
        "with every dependency (uv lock, uv pip compile --generate-hashes)",
    )

    # Without the project's own dependency the lock is refused while planning.
    (project / "requirements.txt").write_text(blocks[1] + "\n")
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'requirements.txt'} does not satisfy {project / 'pyproject.toml'}: "
        "python-dateutil (dependencies) is not in the lock; regenerate it (`uv pip compile "
        "pyproject.toml --generate-hashes -o requirements.txt`)",
    )


def test_entry_point_naming_a_missing_function_fails_the_smoke_test(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = write_project(
        tmp_path / "typo",
        "typo",
        dependencies=["pyflakes==3.2.0"],
        scripts={"typo": "typo.cli:mian", "typo-ok": "typo.cli:main"},
        code="",
    )
    (project / "src" / "typo" / "cli.py").write_text("def main():\n    return 0\n")
    uv_lock(project)
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        5,
        "smoke test: entry points do not resolve: typo (typo.cli:mian): AttributeError: module "
        "'typo.cli' has no attribute 'mian'; fix the entry point (the function it names must "
        "exist) or the packaging of its module",
    )


def test_native_program_of_a_wheel_is_an_entry_point(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    """ruff's wheel installs a binary into the scripts directory and no console script."""
    project = write_project(
        tmp_path / "linter",
        "linter",
        dependencies=["ruff==0.6.9"],
        build_system=False,
        extra='[tool.pack]\nentry-points = ["ruf"]\n',
    )
    uv_lock(project)
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'pyproject.toml'}: [tool.pack] entry-points: no console script or program "
        "named 'ruf' is installed; available: ruff",
    )

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('["ruf"]', '["ruff"]'))
    proc = build(project, python_archive, session_cache, "--json")
    root = built_root(project, proc, tmp_path / "out")
    launcher = (root / "bin" / "ruff").read_text()
    assert 'exec "$root/venv/bin/ruff" "$@"' in launcher
    assert "venv/bin/python" not in launcher.split("exec ")[-1]
    info = json.loads((root / ".pack" / "bundle.json").read_text())
    assert info["entry_points"] == [
        {
            "attr": None,
            "distribution": "ruff",
            "executable": "venv/bin/ruff",
            "module": "",
            "name": "ruff",
        }
    ]
    # Runs with no Python on the host at all, from a read-only bundle.
    command = [str(root / "bin" / "ruff"), "check", "--no-cache", "--select", "F401"]
    run = subprocess.run(
        bwrap_argv([*command, "--stdin-filename", "bad.py", "-"], ro_bind=[root]),
        cwd=root,
        input="import os\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "F401" in run.stdout and "`os` imported but unused" in run.stdout


def test_requires_python_clashes(tmp_path: Path, python_archive: Path, session_cache: Path) -> None:
    version = python_archive.name.split("-")[1].split("+")[0]
    minor = int(version.split(".")[1])
    # The project's own requires-python: refused while planning, with the --python to use.
    project = write_project(
        tmp_path / "newer",
        "newer",
        scripts={"newer": "newer:main"},
        requires_python=f">=3.{minor + 1}",
    )
    (project / "requirements.txt").write_text("")
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'pyproject.toml'}: [project] requires-python is >=3.{minor + 1}, which "
        f"excludes the interpreter (Python {version}); build with --python 3.{minor + 1} (or "
        f'[tool.pack] python = "3.{minor + 1}")',
    )

    # A local wheel that requires a newer Python: the installer's own "Because ..." chain is
    # the error line, not its last line.
    newer = write_project(tmp_path / "newer-lib", "newer-lib", requires_python=f">=3.{minor + 1}")
    app = write_project(
        tmp_path / "app",
        "app",
        scripts={"app": "app:main"},
        code="def main():\n    pass\n",
        extra=f'[tool.pack]\nlocal-extra-deps = ["{newer}"]\n',
    )
    (app / "requirements.txt").write_text("")
    proc = build(app, python_archive, session_cache)
    assert_fails(
        proc,
        app,
        5,
        "installing the application into the bundle failed (exit 1): Because the current "
        f"Python version ({version}) does not satisfy Python>=3.{minor + 1} and "
        f"newer-lib==0.1.0 depends on Python>=3.{minor + 1}, we can conclude that "
        "newer-lib==0.1.0 cannot be used. And because only newer-lib==0.1.0 is available and "
        "you require newer-lib, we can conclude that your requirements are unsatisfiable. "
        "(-v shows the full output)",
    )


def test_scripts_without_a_build_system_say_the_project_is_not_installed(
    tmp_path: Path, python_archive: Path, session_cache: Path
) -> None:
    project = write_project(
        tmp_path / "nobuild", "nobuild", scripts={"nobuild": "nobuild:main"}, build_system=False
    )
    (project / "requirements.txt").write_text("")
    proc = build(project, python_archive, session_cache)
    assert_fails(
        proc,
        project,
        2,
        f"{project / 'pyproject.toml'}: [project.scripts] 'nobuild' cannot be launched: the "
        "project has no [build-system], so its own code is not installed in the bundle; add a "
        '[build-system] (e.g. requires = ["hatchling"], build-backend = "hatchling.build"), or '
        "set [tool.pack] entry-points to a dependency's script",
    )
