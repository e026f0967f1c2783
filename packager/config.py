"""`[tool.pack]` in the project's pyproject.toml, merged with command-line overrides into one
frozen PackConfig. Every key is checked here, so later steps can trust it; an unknown key is an
error with a "did you mean"."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from packaging.version import InvalidVersion, Version

from .errors import ConfigError
from .strip import DEFAULT_STRIP, check_strip_names, expand_strip

# The output archive's formats: bundlearchive.py writes them, the configuration chooses one.
Format = Literal["tar.zst", "tar.gz", "tar.xz", "dir"]
FORMATS: tuple[Format, ...] = get_args(Format)

_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_ENTRY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PackConfig:
    project_dir: Path
    pyproject: Path
    name: str
    version: str | None  # None: dynamic, taken from the built wheel
    has_build_system: bool
    project_scripts: tuple[str, ...]
    entry_points: tuple[str, ...] | None  # None: the project's own [project.scripts]
    lock: Path | None  # None: discovered
    python: str | None
    python_archive: Path | None
    python_variant: str | None
    python_flavor: str | None
    python_mirror: str | None
    target: str | None  # the first of `targets`
    format: Format = "tar.zst"
    compression_level: int | None = None
    self_command: str = "self"
    env: Mapping[str, str] = field(default_factory=dict)
    prepend_path: tuple[str, ...] = ()
    isolated: bool = True
    strip: tuple[str, ...] = DEFAULT_STRIP
    local_extra_deps: tuple[Path, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_unhashed: bool = False
    out_dir: Path | None = None
    targets: tuple[str, ...] = ()  # `target = [...]` or --target repeated; () is this host
    python_archives: tuple[Path, ...] = ()  # several: one per target, told apart by name
    glibc: str | None = None  # the manylinux level assumed for linux-gnu targets
    sign_key: Path | None = None  # an SSH key: the archive gets `<archive>.sig`
    update_signers: Path | None = None  # allowed_signers embedded for `self update`
    update_url: str | None = None  # the update channel embedded for `self update`


# key in [tool.pack] -> expected type description; the reader below enforces it.
_KEYS = {
    "name": "string",
    "version": "string",
    "entry-points": "list of strings",
    "lock": "string",
    "python": "string",
    "python-archive": "string or list of strings",
    "python-variant": "string",
    "python-flavor": "string",
    "python-mirror": "string",
    "target": "string or list of strings",
    "glibc": "string",
    "format": "string",
    "compression-level": "integer",
    "self-command": "string",
    "env": "table of strings",
    "prepend-path": "list of strings",
    "isolated": "boolean",
    "strip": "list of strings",
    "local-extra-deps": "list of strings",
    "extras": "list of strings",
    "groups": "list of strings",
    "allow-unhashed": "boolean",
    "out-dir": "string",
    "sign-key": "string",
    "update-signers": "string",
    "update-url": "string",
}


def _where(pyproject: Path, key: str) -> str:
    return f"{pyproject}: [tool.pack] {key}"


def _check_type(pyproject: Path, key: str, value: object) -> None:
    kind = _KEYS[key]
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "list of strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "string or list of strings": isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        "table of strings": isinstance(value, dict)
        and all(isinstance(v, str) for v in value.values()),
    }[kind]
    if not ok:
        article = "an" if kind[0] in "aeiou" else "a"
        raise ConfigError(
            f"{_where(pyproject, key)} must be {article} {kind}, got {type(value).__name__} "
            f"{value!r}"
        )


def _near_pack(name: str) -> bool:
    """`pakc`, `packs`, `Pack`, `pack_`, `apck`: one edit (a transposition counts as one)
    from `pack`."""
    a, b = name.lower().strip("-_. "), "pack"
    if a == b:
        return True
    # Names of real tools one letter away (`back`, `jack`) start with another letter.
    if abs(len(a) - len(b)) > 1 or len(a) < 3 or a[0] not in "pa":
        return False
    # Optimal string alignment distance, stopped early: only "at most 1" matters.
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)] <= 1


def _check_misspelt_table(pyproject: Path, data: Mapping[str, Any]) -> None:
    """`[tool.pakc]`, `[tool-pack]`, `["tool.pack"]`: settings pack would otherwise ignore."""
    tool = data.get("tool", {})
    for name in tool if isinstance(tool, dict) else ():
        if name != "pack" and _near_pack(name):
            raise ConfigError(
                f"{pyproject}: [tool.{name}] is not read by pack (did you mean [tool.pack]?); "
                "rename the table"
            )
    for name in data:
        squashed = re.sub(r"[-_. ]", "", name.lower())
        if name not in ("tool", "project", "build-system", "dependency-groups") and (
            squashed in ("toolpack", "pack")
            or (squashed.startswith("tool") and _near_pack(squashed[4:]))
        ):
            raise ConfigError(
                f"{pyproject}: top-level table [{name}] is not read by pack (did you mean "
                "[tool.pack]?); rename the table"
            )


def read_pyproject(project_dir: Path) -> tuple[Path, dict[str, Any]]:
    pyproject = project_dir / "pyproject.toml"
    if not project_dir.is_dir():
        raise ConfigError(f"project directory {project_dir} does not exist")
    if not pyproject.is_file():
        raise ConfigError(
            f"no pyproject.toml in {project_dir}; run pack in a project directory or pass it "
            "as PROJECT_DIR"
        )
    try:
        with open(pyproject, "rb") as f:
            return pyproject, tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc


def load_config(project_dir: Path, overrides: Mapping[str, object] | None = None) -> PackConfig:
    """Read `[project]` and `[tool.pack]` of `project_dir/pyproject.toml`; `overrides` (keys as
    in [tool.pack], from the command line) win over the file. None values are ignored."""
    project_dir = project_dir.absolute()
    pyproject, data = read_pyproject(project_dir)
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise ConfigError(f"{pyproject}: [project] must be a table")
    _check_misspelt_table(pyproject, data)
    tool = data.get("tool", {}).get("pack", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: [tool.pack] must be a table")

    for key in tool:
        if key not in _KEYS:
            near = difflib.get_close_matches(key, list(_KEYS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(
                f"{pyproject}: unknown key [tool.pack] {key!r}{hint}; known keys: "
                + ", ".join(sorted(_KEYS))
            )
        _check_type(pyproject, key, tool[key])
    merged: dict[str, Any] = dict(tool)
    for key, value in (overrides or {}).items():
        if key not in _KEYS:
            raise ValueError(f"unknown override {key}")
        if value is not None and value != () and value != []:
            merged[key] = list(value) if isinstance(value, tuple) else value

    def rel_path(key: str) -> Path | None:
        value = merged.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None:
            return None
        path = Path(str(value)).expanduser()
        return path if path.is_absolute() else project_dir / path

    def as_list(key: str) -> list[str]:
        value = merged.get(key)
        return [] if value is None else [value] if isinstance(value, str) else list(value)

    archives = tuple(
        p if p.is_absolute() else project_dir / p
        for p in (Path(v).expanduser() for v in as_list("python-archive"))
    )
    targets = tuple(as_list("target"))
    if "target" in merged and not targets:
        raise ConfigError(f"{_where(pyproject, 'target')} is empty; name at least one target")

    name = merged.get("name") or project.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"{pyproject}: no project name; set [project] name or [tool.pack] name")
    if not _NAME_RE.match(name):
        raise ConfigError(f"{_where(pyproject, 'name')}: {name!r} is not a valid name")

    dynamic = project.get("dynamic", [])
    version = merged.get("version") or project.get("version")
    has_build_system = "build-system" in data or (project_dir / "setup.py").is_file()
    if version is None and not ("version" in dynamic and has_build_system):
        raise ConfigError(f"{pyproject}: no version; set [project] version or [tool.pack] version")
    if version is not None:
        try:
            Version(str(version))
        except InvalidVersion as exc:
            raise ConfigError(f"{pyproject}: version {version!r} is not a valid version") from exc

    scripts = project.get("scripts", {})
    if not isinstance(scripts, dict):
        raise ConfigError(f"{pyproject}: [project.scripts] must be a table")

    entry_points = merged.get("entry-points")
    if entry_points is not None:
        if not entry_points:
            raise ConfigError(f"{_where(pyproject, 'entry-points')} is empty; name at least one")
        for ep in entry_points:
            if not _ENTRY_RE.match(ep):
                raise ConfigError(
                    f"{_where(pyproject, 'entry-points')}: {ep!r} is not a valid command name"
                )

    fmt = merged.get("format", "tar.zst")
    if fmt not in FORMATS:
        near = difflib.get_close_matches(str(fmt), FORMATS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        given = (overrides or {}).get("format") is not None  # blame where it came from
        where = "--format" if given else _where(pyproject, "format")
        raise ConfigError(
            f"{where}: unknown format {fmt!r}{hint}; choose one of " + ", ".join(FORMATS)
        )

    self_command = merged.get("self-command", "self")
    if self_command and not _ENTRY_RE.match(self_command):
        raise ConfigError(
            f"{_where(pyproject, 'self-command')}: {self_command!r} is not a valid word"
        )

    env = merged.get("env", {})
    for key in env:
        if not _ENV_KEY_RE.match(key):
            raise ConfigError(f"{_where(pyproject, 'env')}: {key!r} is not a valid variable name")
        if key in {"PACK_BUNDLE_ROOT", "PYTHONHOME", "PYTHONPATH"} and merged.get("isolated", True):
            raise ConfigError(
                f"{_where(pyproject, 'env')}: {key} is set by the launcher and cannot be overridden"
            )
    prepend = merged.get("prepend-path", [])
    for entry in prepend:
        if entry.startswith("/") or ".." in Path(entry).parts:
            raise ConfigError(
                f"{_where(pyproject, 'prepend-path')}: {entry!r} must be relative to the bundle "
                "root and stay inside it"
            )
        if ":" in entry or "\0" in entry:
            raise ConfigError(
                f"{_where(pyproject, 'prepend-path')}: {entry!r} has a ':', which PATH cannot "
                "hold in a directory name; rename the directory"
            )

    try:
        check_strip_names(merged.get("strip", []))
    except ConfigError as exc:
        raise ConfigError(f"{pyproject}: {exc}") from exc

    level = merged.get("compression-level")
    if level is not None and not isinstance(level, int):
        raise ConfigError(f"{_where(pyproject, 'compression-level')} must be an integer")

    glibc = merged.get("glibc")
    if glibc is not None and not re.fullmatch(r"2\.\d{1,3}", glibc):
        raise ConfigError(
            f"{_where(pyproject, 'glibc')}: {glibc!r} is not a glibc version; write it like 2.28"
        )

    extras_paths = tuple(
        (Path(p) if Path(p).is_absolute() else project_dir / p)
        for p in merged.get("local-extra-deps", [])
    )

    update_url = merged.get("update-url")
    if update_url is not None and not (
        update_url.startswith(("https://", "http://")) or Path(update_url).is_absolute()
    ):
        raise ConfigError(
            f"{_where(pyproject, 'update-url')}: {update_url!r} is neither an http(s) URL nor "
            "an absolute directory; give where the channel directory (pack build --channel) "
            "is served"
        )

    return PackConfig(
        project_dir=project_dir,
        pyproject=pyproject,
        name=name,
        version=str(version) if version is not None else None,
        has_build_system=has_build_system,
        project_scripts=tuple(sorted(scripts)),
        entry_points=tuple(entry_points) if entry_points is not None else None,
        lock=rel_path("lock"),
        python=merged.get("python"),
        python_archive=rel_path("python-archive"),
        python_variant=merged.get("python-variant"),
        python_flavor=merged.get("python-flavor"),
        python_mirror=merged.get("python-mirror"),
        target=targets[0] if targets else None,
        targets=targets,
        python_archives=archives,
        glibc=merged.get("glibc"),
        format=cast(Format, fmt),
        compression_level=level,
        self_command=self_command,
        env=dict(env),
        prepend_path=tuple(prepend),
        isolated=bool(merged.get("isolated", True)),
        strip=expand_strip(merged.get("strip", DEFAULT_STRIP)),
        local_extra_deps=extras_paths,
        extras=tuple(merged.get("extras", [])),
        groups=tuple(merged.get("groups", [])),
        allow_unhashed=bool(merged.get("allow-unhashed", False)),
        out_dir=rel_path("out-dir"),
        sign_key=rel_path("sign-key"),
        update_signers=rel_path("update-signers"),
        update_url=update_url.rstrip("/") if update_url else None,
    )
