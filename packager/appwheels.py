"""The app layer's wheels: the project's own, the lock's path dependencies and workspace
members, and `local-extra-deps`, built with the interpreter that runs during the build (a
wheel given as a file is used as it is)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import parse_wheel_filename

from ._fs import sha256_file
from .buildenvs import build_wheel
from .config import PackConfig
from .context import Context
from .crossplan import TargetPlan
from .errors import BuildError
from .locks import LockPlan
from .manifest import LocalPackage
from .plan import ExtraDep
from .runtime import Runtime
from .targets import host_target


class AppWheels:
    """The project's wheel and the local extras, built once per build interpreter; a pure
    Python wheel (tag none-any) serves every target. A platform wheel cannot be built for a
    target this host does not run: that is an error naming the target."""

    def __init__(
        self,
        ctx: Context,
        cfg: PackConfig,
        extras: Sequence[ExtraDep],
        work: Path,
        find_links: tuple[Path, ...],
    ) -> None:
        self.ctx, self.cfg, self.extras, self.work = ctx, cfg, extras, work
        self.find_links = find_links
        self.built: dict[Path, tuple[list[Path], str | None]] = {}
        self.entry_point_names: tuple[str, ...] = ()
        self.local_packages: tuple[LocalPackage, ...] = ()  # what bundle.json records

    def files(
        self, python: Runtime, tp: TargetPlan, plan: LockPlan
    ) -> tuple[list[Path], str | None]:
        for files, version in self.built.values():
            if all(f.name.endswith("-none-any.whl") for f in files):
                return files, version
        if python.exe in self.built:
            files, version = self.built[python.exe]
        else:
            work = self.work / str(len(self.built))
            files, version = [], self.cfg.version
            if self.cfg.has_build_system:
                self.ctx.reporter.step(f"Building the wheel of {self.cfg.name}")
                wheel = build_wheel(
                    self.ctx, self.cfg.project_dir, work / "wheel", python.exe,
                    find_links=self.find_links,
                )  # fmt: skip
                files.append(wheel)
                if version is None:
                    version = wheel.name.split("-")[1]
            local_wheels, self.local_packages = local_package_wheels(
                self.ctx, self.cfg, plan, work, python, find_links=self.find_links
            )
            files += local_wheels
            files += local_extra_wheels(
                self.ctx, self.extras, work, python, find_links=self.find_links
            )
            self.built[python.exe] = (files, version)
        if tp.cross and tp.target != host_target():
            # Built here (not given as wheels) with compiled code: built for the host.
            native = [
                f.name
                for f in files
                if f.is_relative_to(self.work) and not f.name.endswith("-none-any.whl")
            ]
            if native:
                raise BuildError(
                    f"{', '.join(native)} is built for this host, not {tp.target}; a wheel "
                    "with compiled code cannot be built for another platform here: build it on "
                    f"the target platform itself and pass that wheel in local-extra-deps"
                )
        return files, version


def local_package_wheels(
    ctx: Context,
    cfg: PackConfig,
    plan: LockPlan,
    work: Path,
    runtime: Runtime,
    *,
    find_links: tuple[Path, ...] = (),
) -> tuple[list[Path], tuple[LocalPackage, ...]]:
    """The lock's `directory` packages (path dependencies, workspace members) built into
    wheels with the build interpreter, and what bundle.json records of each."""
    wheels: list[Path] = []
    records: list[LocalPackage] = []
    for i, directory in enumerate(plan.directories):
        rel = Path(os.path.relpath(directory.path, cfg.project_dir.resolve())).as_posix()
        ctx.reporter.step(f"Building the wheel of {directory.name} ({rel})")
        wheel = build_wheel(
            ctx, directory.path, work / f"local-{i}", runtime.exe, find_links=find_links
        )
        wheels.append(wheel)
        records.append(
            LocalPackage(
                name=directory.name,
                version=str(parse_wheel_filename(wheel.name)[1]),
                path=rel,
                sha256=sha256_file(wheel),
            )
        )
    return wheels, tuple(records)


def local_extra_wheels(
    ctx: Context,
    extras: Sequence[ExtraDep],
    work: Path,
    runtime: Runtime,
    *,
    find_links: tuple[Path, ...] = (),
) -> list[Path]:
    """`local-extra-deps`: wheels as they are; project directories built into wheels."""
    out: list[Path] = []
    for i, extra in enumerate(extras):
        if extra.kind == "project":
            ctx.reporter.step(f"Building the wheel of {extra.path.name}")
            out.append(
                build_wheel(
                    ctx, extra.path, work / f"extra-{i}", runtime.exe, find_links=find_links
                )
            )
        else:
            out.append(extra.path)
    return out
