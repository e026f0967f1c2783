"""`self remove`: delete a bundle directory, but only one that is recognisably a pack bundle.
The directory is first renamed to a hidden name beside it, so it disappears at once and a
removal stopped half-way leaves no half-deleted bundle that looks runnable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import parentdir
from .bundleinfo import BundleInfoError, read_bundle_info
from .errors import RefusedError, StubError
from .layout import Bundle


@dataclass(frozen=True)
class Removal:
    root: Path  # the real directory that goes
    name: str
    version: str
    current_links: tuple[Path, ...]  # `current` symlinks that will dangle afterwards


def plan_removal(bundle: Bundle) -> Removal:
    """What `remove` would delete; refuses a directory that is not a pack bundle."""
    root = bundle.real_root
    missing = bundle.missing_markers()
    if missing:
        raise RefusedError(
            f"refusing to remove {root}: it does not look like a pack bundle ({missing[0]} "
            "is missing)"
        )
    try:
        info = read_bundle_info(root)
    except BundleInfoError as exc:
        raise RefusedError(f"refusing to remove {root}: {exc}") from exc
    return Removal(root, info["name"], info["version"], bundle.current_links())


def remove(plan: Removal) -> None:
    parent = plan.root.parent
    with parentdir.locked(parent):
        parentdir.remove_stale(parent, plan.name)
        trash = parent / parentdir.work_dir_name(parentdir.TRASH_PREFIX, plan.name)
        try:
            plan.root.rename(trash)
        except OSError as exc:
            raise StubError(f"cannot remove {plan.root}: {exc.strerror}") from exc
        parentdir.remove_tree(trash)
