"""`pack python ...`: what python-build-standalone builds the catalog offers and which are
cached (`list`), pre-seeding the cache (`fetch`), where it is (`dir`), and pinning a build per
target in pack.lock (`lock`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..errors import ConfigError
from ._app import app, out, state

if TYPE_CHECKING:
    from packaging.version import Version

    from ..pythons import Asset, InterpreterArchive
    from ..targets import Target

# The catalog, the fetcher and the HTTP client are imported by the commands that use them, so
# that `pack --help` and the other commands do not load them.

python_app = typer.Typer(
    help="Python interpreters: list, fetch and pin python-build-standalone builds.",
    no_args_is_help=True,
)
app.add_typer(python_app, name="python")

# Help text goes through rich markup: literal brackets are escaped.
_TARGET_HELP = "Target triple \\[default: this host]."
_MIRROR_HELP = "Base URL laid out as <base>/<tag>/<file> (http, https, file or a directory)."
_VARIANT_HELP = "default or freethreaded."
_FLAVOR_HELP = "install_only_stripped (default) or install_only."
_OFFLINE_HELP = "No network: only the catalog, the cache and file:// mirrors."


@python_app.command("list")
def list_command(
    target: str | None = typer.Option(None, "--target", help=_TARGET_HELP),
    show_all: bool = typer.Option(False, "--all", help="Every patch release, not only the newest."),
) -> None:
    """List the builds the catalog offers for a target, and which are in the cache."""
    from ..pythons import Catalog, cached_archives
    from ..targets import host_target, parse_target

    ctx = state.context()
    chosen = parse_target(target) if target else host_target()
    Key = tuple[str, str | None, bool]
    cached: dict[Key, InterpreterArchive] = {
        (a.version, a.tag, a.freethreaded): a
        for a in cached_archives(ctx)
        if a.triple == chosen.triple
    }
    shown: dict[Key, Asset] = {}
    minors: set[tuple[str, bool]] = set()
    for asset in Catalog.bundled().offers(chosen):
        # offers() is sorted best first: the first of each version (or minor) is the one.
        minor = (".".join(asset.version.split(".")[:2]), asset.freethreaded)
        key: Key = (asset.version, asset.tag, asset.freethreaded)
        if key in shown or (not show_all and minor in minors):
            continue
        minors.add(minor)
        shown[key] = asset
    rows = [
        _row(a.version, a.tag, a.freethreaded, a.flavor, cached[k].path if k in cached else None)
        for k, a in shown.items()
    ]
    rows += [
        _row(a.version, a.tag or "", a.freethreaded, a.flavor, a.path)
        for k, a in cached.items()
        if k not in shown
    ]
    for label, tag, flavor, status in sorted(rows, key=_sort_key, reverse=True):
        out(f"{label:<10} {tag:<9} {flavor:<22} {status}")


def _row(
    version: str, tag: str, freethreaded: bool, flavor: str, cached: Path | None
) -> tuple[str, str, str, str]:
    return version + ("t" if freethreaded else ""), tag, flavor, str(cached) if cached else "-"


def _sort_key(row: tuple[str, str, str, str]) -> tuple[Version, bool, str]:
    from packaging.version import Version

    label, tag, _, _ = row
    return Version(label.rstrip("t")), not label.endswith("t"), tag


@python_app.command("fetch")
def fetch_command(
    request: str = typer.Argument(..., help="3.12, 3.12.7, 3.12.7+20241016 or 3.13t."),
    target: list[str] = typer.Option([], "--target", help=_TARGET_HELP + " Repeatable."),  # noqa: B008
    python_mirror: str | None = typer.Option(None, "--python-mirror", help=_MIRROR_HELP),
    python_variant: str | None = typer.Option(None, "--python-variant", help=_VARIANT_HELP),
    python_flavor: str | None = typer.Option(None, "--python-flavor", help=_FLAVOR_HELP),
    offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP),
) -> None:
    """Download and verify a build into the cache, e.g. before carrying it into an air gap.

    Prints the path of each archive."""
    from ..pythons import obtain_interpreter
    from ..targets import host_target, parse_target

    ctx = state.context(offline=offline)
    targets = [parse_target(t) for t in target] or [host_target()]
    for chosen in targets:
        found = obtain_interpreter(
            ctx,
            request=request,
            variant=python_variant,
            flavor=python_flavor,
            archive=None,
            target=chosen,
            mirror=python_mirror,
            pin_file=None,
        )
        state.console.close()
        out(str(found.path))


@python_app.command("dir")
def dir_command() -> None:
    """Print the cache directory that holds downloaded interpreter archives."""
    from ..cache import DOWNLOADS

    out(str(state.context().cache_dir / DOWNLOADS))


@python_app.command("lock")
def lock_command(
    request: str | None = typer.Argument(
        None,
        help="3.12, 3.12.7+20241016, 3.13t \\[default: \\[tool.pack] python, the current pin, "
        "else the newest release].",
    ),
    project_dir: Path | None = typer.Argument(None, help="The project \\[default: .]."),  # noqa: B008
    target: list[str] = typer.Option([], "--target", help=_TARGET_HELP + " Repeatable."),  # noqa: B008
    python_mirror: str | None = typer.Option(None, "--python-mirror", help=_MIRROR_HELP),
    python_variant: str | None = typer.Option(None, "--python-variant", help=_VARIANT_HELP),
    python_flavor: str | None = typer.Option(None, "--python-flavor", help=_FLAVOR_HELP),
    offline: bool = typer.Option(False, "--offline", help=_OFFLINE_HELP),
) -> None:
    """Pin the build each target uses in PROJECT_DIR/pack.lock (nothing is downloaded)."""
    from ..config import load_config
    from ..pythons import (
        PIN_FILE,
        UPSTREAM,
        Pin,
        mirror_base,
        parse_request,
        read_pins,
        resolve_asset,
        write_pins,
    )
    from ..pythons.mirror import asset_url
    from ..targets import host_target, parse_target

    if project_dir is None and request is not None and _is_project_dir(request):
        project_dir, request = Path(request), None
    project = (project_dir or Path()).absolute()
    if not project.is_dir():
        raise ConfigError(f"project directory {project} does not exist")
    pin_file = project / PIN_FILE
    pins = read_pins(pin_file)
    cfg = load_config(project) if (project / "pyproject.toml").is_file() else None
    config_python = cfg.python if cfg else None
    config_variant = cfg.python_variant if cfg else None
    config_flavor = cfg.python_flavor if cfg else None
    config_mirror = cfg.python_mirror if cfg else None
    config_targets = list(cfg.targets) if cfg else []
    ctx = state.context(offline=offline)
    base = mirror_base(python_mirror or config_mirror, ctx.environ)
    targets: list[Target] = [parse_target(t) for t in target]
    if not targets:
        defaults = config_targets or sorted(pins)
        targets = [parse_target(t) for t in defaults] or [host_target()]
    for chosen in targets:
        old = pins.get(chosen.triple)
        wanted = request or config_python or (old.request if old else None)
        req = parse_request(
            wanted, variant=python_variant or config_variant, flavor=python_flavor or config_flavor
        )
        asset = resolve_asset(ctx, req, chosen, base=base, catalog=None)
        assert asset.sha256 is not None
        url = asset_url(base or UPSTREAM, asset.tag, asset.filename)
        pins[chosen.triple] = Pin(chosen.triple, asset.filename, url, asset.sha256, wanted)
        state.console.close()
        out(f"{chosen}  {asset.filename}")
    write_pins(pin_file, pins)


def _is_project_dir(text: str) -> bool:
    """`pack python lock DIR`: a lone argument that is a directory and not a request."""
    from ..pythons import parse_request

    try:
        parse_request(text)
    except ConfigError:
        return Path(text).is_dir()
    return False
