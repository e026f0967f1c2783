"""`requirements.txt` as a lock: every line pinned with `==` and hashed with `--hash`, read
without resolution; each pin is matched, through the package index (or, offline, the cache and
--find-links), to the files whose sha256 the line lists, and the target's best one is chosen."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, create_compatible_tags_selector
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

from ..errors import ConfigError, LockError, NetworkError
from .index import PYPI, IndexFile, lookup_files
from .model import (
    Artifact,
    ArtifactKind,
    LocalDirectory,
    LockPlan,
    LockRequest,
    LockSource,
    check_directory,
)

if TYPE_CHECKING:
    pass

_REGENERATE = (
    "regenerate it with `uv pip compile --generate-hashes` "
    "(or `uv export --format requirements-txt`)"
)

# Options that only steer a resolver; a fully pinned, hashed file makes them moot.
_IGNORED_OPTIONS = {
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "--only-binary",
    "--trusted-host",
}
# Options without a value; every other option takes one (`--opt value` or `--opt=value`).
_FLAGS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}


@dataclass(frozen=True)
class Pinned:
    """One requirement line: `name==version ; marker --hash=sha256:...`."""

    name: NormalizedName
    version: str
    hashes: frozenset[str]  # sha256 hex digests; empty only with allow-unhashed
    marker: Marker | None
    line: int  # where the line starts in the file (1-based)

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class LocalLine:
    """`-e ./packages/lib` or `./packages/lib`: a local project (`uv export --format
    requirements-txt` lists the project and workspace members so)."""

    text: str  # as written
    path: Path  # resolved against the file's folder
    line: int


@dataclass(frozen=True)
class RequirementsFile:
    path: Path
    requirements: tuple[Pinned, ...]
    index_urls: tuple[str, ...]  # --index-url (PyPI by default), then --extra-index-url
    find_links: tuple[Path, ...]  # -f/--find-links directories, relative to the file
    directories: tuple[LocalLine, ...] = ()


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with `\\` continuations joined and comments removed."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            out.append((start, joined))
    if pending and " ".join(pending).strip():
        out.append((start, " ".join(p.strip() for p in pending).strip()))
    return out


def _split_options(line: str) -> tuple[str, str]:
    """The requirement and its trailing options: split at the first ` -x`/` --x` outside
    quotes (markers may hold quoted text)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch.isspace() and re.match(r"\s+--?[A-Za-z]", line[i:]):
            return line[:i].strip(), line[i:].strip()
    return line.strip(), ""


def parse_requirements(path: Path, *, allow_unhashed: bool) -> RequirementsFile:
    """Read a hashed, fully pinned requirements file; anything that would need a resolver or
    cannot be verified is an error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LockError(f"{path}: cannot read it: {exc.strerror}") from exc
    index: str | None = PYPI
    extra_index: list[str] = []
    find_links: list[Path] = []
    pins: list[Pinned] = []
    directories: list[LocalLine] = []
    seen: dict[str, int] = {}
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        if line.startswith((".", "/")):
            directories.append(_local(line, path, where, number))
            continue
        if line.startswith("-"):
            tokens = _option_tokens(line, where)
            i = 0
            while i < len(tokens):
                opt, value = tokens[i]
                i += 1
                if opt in ("-i", "--index-url"):
                    index = value.rstrip("/")
                elif opt == "--extra-index-url":
                    extra_index.append(value.rstrip("/"))
                elif opt == "--no-index":
                    index = None
                elif opt in ("-e", "--editable"):
                    directories.append(_local(value, path, where, number))
                elif opt in ("-f", "--find-links"):
                    link = (
                        Path(unquote(urlsplit(value).path))
                        if value.startswith("file:")
                        else Path(value)
                    )
                    if "://" in value and not value.startswith("file:"):
                        raise LockError(
                            f"{where}: --find-links {value}: only local directories are read; "
                            "download them and pass the directory"
                        )
                    find_links.append(link if link.is_absolute() else path.parent / link)
                elif opt not in _IGNORED_OPTIONS:
                    raise LockError(
                        f"{where}: option {opt} is not supported in a requirements lock (pack "
                        f"reads pinned, hashed lines and index options); {_REGENERATE}"
                    )
            continue
        pin = _pinned(line, where, number, allow_unhashed=allow_unhashed)
        if pin.name in seen:
            raise LockError(
                f"{where}: {pin.name} is pinned twice (also on line {seen[pin.name]}); "
                "a lock names each package once: " + _REGENERATE
            )
        seen[pin.name] = number
        pins.append(pin)
    indexes = ((index,) if index else ()) + tuple(extra_index)
    return RequirementsFile(
        path.absolute(), tuple(pins), indexes, tuple(find_links), tuple(directories)
    )


def _local(text: str, path: Path, where: str, number: int) -> LocalLine:
    if "://" in text or text.startswith(("git+", "hg+", "svn+", "bzr+")):
        raise LockError(
            f"{where}: {text} is a vcs or remote source, which has no hash to verify; depend on "
            "a released version, or build it into a wheel and list the wheel in [tool.pack] "
            "local-extra-deps"
        )
    local = Path(unquote(urlsplit(text).path)) if text.startswith("file:") else Path(text)
    return LocalLine(text, (path.parent / local).resolve(), number)


def _local_name(directory: Path) -> str:
    """The project name in `directory`'s pyproject.toml, else the folder's name."""
    try:
        with open(directory / "pyproject.toml", "rb") as f:
            name = tomllib.load(f).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else directory.name


def _option_tokens(text: str, where: str) -> list[tuple[str, str]]:
    """`--opt=value`, `--opt value` and flags as (option, value) pairs."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise LockError(f"{where}: cannot read the options: {exc}") from exc
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-"):
            raise LockError(f"{where}: unexpected {word!r} among the options")
        opt, eq, value = word.partition("=")
        if not eq and opt not in _FLAGS:
            if i >= len(words) or words[i].startswith("-"):
                raise LockError(f"{where}: {opt} needs a value")
            value = words[i]
            i += 1
        out.append((opt, value))
    return out


def _pinned(line: str, where: str, number: int, *, allow_unhashed: bool) -> Pinned:
    spec, options = _split_options(line)
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise LockError(f"{where}: {spec!r} is not a requirement: {exc}") from exc
    if req.url:
        raise LockError(
            f"{where}: {req.name} @ {req.url}: direct references are not read from "
            "requirements files; use a pylock.toml, or list the file in local-extra-deps"
        )
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        raise LockError(
            f"{where}: {req.name}{req.specifier or ''} is not pinned with ==; a requirements "
            f"lock pins every package to one version: {_REGENERATE}"
        )
    hashes: set[str] = set()
    other_algorithms: list[str] = []
    for opt, value in _option_tokens(options, where) if options else []:
        if opt != "--hash":
            raise LockError(
                f"{where}: option {opt} is not supported on a requirement line; only --hash is"
            )
        algorithm, _, digest = value.partition(":")
        if algorithm == "sha256" and re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            hashes.add(digest.lower())
        else:
            other_algorithms.append(algorithm)
    name = canonicalize_name(req.name)
    version = specs[0].version
    if not hashes and other_algorithms:
        raise LockError(
            f"{where}: {name}=={version} has no sha256 --hash ({', '.join(other_algorithms)} "
            "only); pack verifies sha256 digests: " + _REGENERATE
        )
    if not hashes and not allow_unhashed:
        raise LockError(
            f"{where}: {name}=={version} has no --hash; pack installs only files it can verify: "
            f"{_REGENERATE}, or pass --allow-unhashed (allow-unhashed = true) to trust the "
            "index's digests"
        )
    return Pinned(name, version, frozenset(hashes), req.marker, number)


def plan_requirements(
    rf: RequirementsFile,
    source: LockSource,
    *,
    environment: Mapping[str, str],
    tags: Sequence[Tag],
    files_for: Callable[[Pinned], Sequence[IndexFile]],
    offline: bool = False,
    project_dir: Path | None = None,
) -> LockPlan:
    """Choose, for one target, the file of every pin whose marker holds there: the wheel
    with the best tag, else the sdist. A local project line is the project itself (left out)
    or a directory to build, as in a pylock."""
    select = create_compatible_tags_selector(tags)
    project = project_dir.resolve() if project_dir is not None else None
    directories: list[LocalDirectory] = []
    project_listed = False
    for local in rf.directories:
        if local.path == project:
            project_listed = True
            continue
        check_directory(local.text, local.path, f"{rf.path}:{local.line}")
        directories.append(LocalDirectory(_local_name(local.path), local.path, editable=False))
    artifacts: list[Artifact] = []
    for pin in rf.requirements:
        if pin.marker is not None and not pin.marker.evaluate({**environment, "extra": ""}):
            continue
        where = f"{rf.path}:{pin.line}"
        files = list(files_for(pin))
        if not files:
            if offline:
                raise NetworkError(
                    f"offline: no file of {pin} ({where}) is in the cache or a --find-links "
                    "directory; run `pack fetch --dest DIR` with network access and build with "
                    "--find-links DIR"
                )
            indexes = ", ".join(rf.index_urls) or "no index (--no-index)"
            raise LockError(
                f"{where}: {indexes} has no file of {pin} with the listed hashes; check the "
                f"pin and its hashes: {_REGENERATE}"
            )
        wheels = [f for f in files if f.filename.endswith(".whl")]
        best = next(select((f, parse_wheel_filename(f.filename)[3]) for f in wheels), None)
        kind: ArtifactKind = "wheel"
        if best is None:
            sdists = sorted(
                (f for f in files if not f.filename.endswith(".whl")),
                key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename),
            )
            if not sdists:
                names = ", ".join(sorted(f.filename for f in files))
                raise LockError(
                    f"{where}: no file of {pin} fits the target (its files: {names}) and it "
                    "has no sdist; pin a version with a wheel for the target"
                )
            best, kind = sdists[0], "sdist"
        artifacts.append(
            Artifact(
                name=pin.name,
                version=pin.version,
                kind=kind,
                filename=best.filename,
                url=best.url,
                path=None,
                sha256=best.sha256,
            )
        )
    return LockPlan.of(source, artifacts, directories, project_listed)


def plan_requirements_file(source: LockSource, request: LockRequest) -> LockPlan:
    """Read the requirements file of `source` and plan it for one target; its pins are matched
    to files through the index, the cache or `find_links` (which needs `ctx`)."""
    extras, groups, ctx = request.extras, request.groups, request.ctx
    if extras or groups:
        raise ConfigError(
            f"{source.path}: extras and groups ({', '.join([*extras, *groups])}) select "
            "from a uv.lock or pylock.toml; a requirements file is already the whole "
            "closure: drop --extra/--group or lock with uv"
        )
    if ctx is None:
        raise LockError(f"{source.path}: planning a requirements file needs a context")
    rf = parse_requirements(source.path, allow_unhashed=request.allow_unhashed)
    return plan_requirements(
        rf,
        source,
        environment=request.environment,
        tags=request.tags,
        files_for=lookup_files(ctx, rf.index_urls, [*rf.find_links, *request.find_links]),
        offline=ctx.offline,
        project_dir=request.project_dir,
    )
