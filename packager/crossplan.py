"""Planning a build per target: the targets asked for, each target's interpreter archive (read
from the archives' file names), the host interpreter of the same minor that installs and
compiles for a target this host cannot run natively, and the markers, wheel tags and glibc
policy of a (target, interpreter) pair. All of it is decided before anything slow runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .errors import ConfigError, LockError
from .pythons.asset import parse_filename
from .targets import (
    DEFAULT_GLIBC,
    DEFAULT_MACOS,
    Target,
    can_run_on_host,
    host_glibc,
    host_target,
    marker_environment,
    parse_target,
    supported_tags,
)

if TYPE_CHECKING:
    from packaging.pylock import Package, Pylock

    from .pythons import InterpreterArchive

# The manylinux levels uv's --python-platform knows for each architecture.
_UV_GLIBC = ((2, 17), (2, 28), *((2, m) for m in range(31, 41)))


@dataclass(frozen=True)
class TargetEnvironment:
    """What a lock is planned against for one (target, interpreter) pair."""

    markers: Mapping[str, str]
    tags: tuple[Tag, ...]
    glibc: tuple[int, int] | None  # the manylinux level assumed for a linux-gnu target


def target_environment(
    target: Target, archive: InterpreterArchive, *, glibc: tuple[int, int] | None = None
) -> TargetEnvironment:
    """The markers and wheel tags of `archive`'s interpreter on `target`. Policy for wheels:
    linux-gnu accepts manylinux up to `glibc` (default: this host's glibc for the host target,
    else 2.17, the oldest glibc python-build-standalone runs on); linux-musl accepts
    musllinux_1_2 and older; macOS accepts wheels for 11.0 and older."""
    if target.libc == "gnu" and glibc is None:
        glibc = host_glibc() if target == host_target() else DEFAULT_GLIBC
    return TargetEnvironment(
        markers=marker_environment(target, archive.version, freethreaded=archive.freethreaded),
        tags=tuple(
            supported_tags(
                target,
                archive.minor,
                freethreaded=archive.freethreaded,
                glibc=glibc if target.libc == "gnu" else None,
            )
        ),
        glibc=glibc if target.libc == "gnu" else None,
    )


def uv_platform(target: Target, glibc: tuple[int, int] | None) -> str:
    """uv's --python-platform for `target`: the triple without a microarchitecture level; for
    linux-gnu the smallest manylinux level uv knows that is at least `glibc`, so every wheel
    planned for the target also passes uv's own check."""
    base = target.triple.replace(f"{target.arch}_{target.level}-", f"{target.arch}-")
    if target.libc != "gnu" or glibc is None:
        return base
    level = next((g for g in _UV_GLIBC if g >= glibc), _UV_GLIBC[-1])
    return f"{target.arch}-manylinux_{level[0]}_{level[1]}"


def parse_glibc(text: str, where: str) -> tuple[int, int]:
    """`2.28` -> (2, 28)."""
    parts = text.strip().split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or parts[0] != "2":
        raise ConfigError(f"{where}: {text!r} is not a glibc version; write it like 2.28")
    return int(parts[0]), int(parts[1])


def parse_targets(values: Sequence[str]) -> tuple[Target, ...]:
    """The targets asked for, in order, each once; none means this host."""
    out: dict[Target, None] = {}
    for value in values:
        out[parse_target(value)] = None
    return tuple(out) or (host_target(),)


def archives_by_target(archives: Sequence[Path]) -> dict[str, Path]:
    """Several --python-archive: each one's target read from its file name."""
    found: dict[str, Path] = {}
    for path in archives:
        fields = parse_filename(path.name)
        if fields is None:
            raise ConfigError(
                f"{path.name} is not named like a python-build-standalone archive "
                "(cpython-<version>+<tag>-<target>-install_only[_stripped].tar.gz|.tar.zst); "
                "with several --python-archive, each one's target is read from its name"
            )
        triple = str(fields["triple"])
        if triple in found and found[triple] != path:
            raise ConfigError(
                f"two interpreter archives for {triple}: {found[triple]} and {path}; "
                "pass one per target"
            )
        found[triple] = path
    return found


def archive_for(archives: Sequence[Path], target: Target) -> Path | None:
    """The given archive for `target`; a single archive is used whatever its name says (the
    interpreter step then explains a mismatch)."""
    if len(archives) == 1:
        return archives[0]
    return archives_by_target(archives).get(target.triple)


@dataclass(frozen=True)
class TargetPlan:
    """One target of a build: its interpreter, and for a target whose interpreter cannot run
    here (another architecture or OS), the host `builder` interpreter of the same minor
    version that installs the wheels and compiles the bytecode instead."""

    target: Target
    archive: InterpreterArchive
    builder: InterpreterArchive | None
    env: TargetEnvironment

    @property
    def cross(self) -> bool:
        return self.builder is not None

    @property
    def python_platform(self) -> str | None:
        """uv's --python-platform when installing for a target this host does not run."""
        return uv_platform(self.target, self.env.glibc) if self.cross else None


def needs_builder(target: Target, *, force: bool = False) -> bool:
    """Whether `target` is installed and compiled by a host interpreter (it cannot run here
    natively), or, with `force`, in any case (to check both paths give the same bundle)."""
    return force or not can_run_on_host(target)


def check_builder(archive: InterpreterArchive, builder: InterpreterArchive) -> None:
    if builder.minor != archive.minor or builder.freethreaded != archive.freethreaded:
        raise ConfigError(
            f"{builder.filename} cannot compile bytecode for {archive.filename}: a host "
            f"interpreter of the same minor version ({archive.minor[0]}.{archive.minor[1]}"
            f"{'t' if archive.freethreaded else ''}) is needed; pass one with --python-archive"
        )


def _platforms(package: Package) -> list[str]:
    out: dict[str, None] = {}
    for wheel in package.wheels or ():
        ref = wheel.name or wheel.url or (str(wheel.path) if wheel.path else "")
        try:
            for tag in parse_wheel_filename(ref.rsplit("/", 1)[-1])[3]:
                out[tag.platform] = None
        except InvalidWheelFilename:
            continue
    return sorted(out)


def _why(label: str, package: Package, *, sdist: bool) -> str:
    have = f"wheels only for: {', '.join(_platforms(package)) or 'none'}"
    if sdist:
        why = "only its source distribution fits; building it would build for the host"
        return f"{label} ({why}; {have})"
    return f"{label} ({have})"


def unusable_packages(
    pylock: Pylock,
    *,
    environment: Mapping[str, str],
    tags: Sequence[Tag],
    extras: Sequence[str] = (),
    groups: Sequence[str] | None = None,
    sdist_ok: bool = True,
) -> list[str]:
    """Every package the lock needs on this target that has no wheel for its tags (and, when
    `sdist_ok` is false, that only an sdist would serve), each with the platforms it does
    have wheels for. Selection is the lock's own, with every wheel's tags accepted after the
    target's: a package whose pick is then a foreign wheel has none for the target."""
    wanted = set(tags)
    permissive = list(tags)
    for package in pylock.packages:
        for wheel in package.wheels or ():
            ref = wheel.name or wheel.url or (str(wheel.path) if wheel.path else "")
            try:
                permissive += [
                    t for t in parse_wheel_filename(ref.rsplit("/", 1)[-1])[3] if t not in wanted
                ]
            except InvalidWheelFilename:
                continue
    from packaging.pylock import PackageArchive, PackageSdist, PackageWheel, PylockSelectError

    try:
        selected = list(
            pylock.select(
                environment=dict(environment),  # type: ignore[arg-type]
                tags=permissive,
                extras=extras,
                dependency_groups=groups,
            )
        )
    except PylockSelectError:
        return []
    problems: list[str] = []
    for package, dist in selected:
        label = f"{package.name} {package.version or ''}".strip()
        if isinstance(dist, PackageWheel):
            ref = dist.name or dist.url or (str(dist.path) if dist.path else "")
            try:
                fits = bool(wanted & set(parse_wheel_filename(ref.rsplit("/", 1)[-1])[3]))
            except InvalidWheelFilename:
                fits = False
            if fits or (package.sdist is not None and sdist_ok):
                continue
            problems.append(_why(label, package, sdist=package.sdist is not None))
        elif not sdist_ok and isinstance(dist, (PackageSdist, PackageArchive)):
            problems.append(_why(label, package, sdist=True))
    return problems


def policy(target: Target, glibc: tuple[int, int] | None) -> str:
    """The wheel platforms a target accepts, in words, for error messages."""
    if target.os == "darwin":
        return f"macOS {DEFAULT_MACOS[0]}.{DEFAULT_MACOS[1]} or older"
    if target.libc == "musl":
        return "musllinux_1_2 or older"
    major, minor = glibc or DEFAULT_GLIBC
    return f"manylinux_{major}_{minor} or older (--glibc to change)"


def unusable_error(
    where: Path, target: Target, glibc: tuple[int, int] | None, problems: list[str]
) -> LockError:
    return LockError(
        f"{where}: {len(problems)} package{'s' if len(problems) != 1 else ''} "
        f"{'have' if len(problems) != 1 else 'has'} no usable wheel for {target} "
        f"({policy(target, glibc)}): {'; '.join(problems)}; lock versions that publish wheels "
        f"for {target}, or build on the target platform itself"
    )
