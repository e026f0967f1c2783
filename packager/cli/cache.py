"""`pack cache dir|list|prune|clean`: where the cache is, what it holds (entries, sizes, last
use), and removing what is old or everything."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app, out, state
from .inspect import human_size

if TYPE_CHECKING:
    from ..cache import CacheEntry

cache_app = typer.Typer(
    help="The pack cache: where it is, what it holds, and clearing it.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")

_JSON_HELP = "Print JSON instead of a table."


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def _as_json(entries: list[CacheEntry]) -> list[dict[str, object]]:
    return [
        {
            "kind": e.kind,
            "key": e.key,
            "path": str(e.path),
            "size": e.size,
            "last_used": round(e.last_used, 3),
            "complete": e.complete,
        }
        for e in entries
    ]


@cache_app.command("dir")
def dir_command() -> None:
    """Print the cache directory ($PACK_CACHE_DIR, else $XDG_CACHE_HOME/pack)."""
    out(str(state.context().cache_dir))


@cache_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False) -> None:
    """List the cache entries: kind, key, size and last use (UTC)."""
    from ..cache import list_entries

    root = state.context().cache_dir
    entries = list_entries(root)
    if as_json:
        out(json.dumps({"root": str(root), "entries": _as_json(entries)}, indent=2))
        return
    lines = [f"{'KIND':<10} {'KEY':<64} {'SIZE':>10}  LAST USED"]
    for e in sorted(entries, key=lambda e: (e.kind, -e.last_used, e.key)):
        note = "" if e.complete else "  (incomplete)"
        lines.append(
            f"{e.kind:<10} {e.key:<64} {human_size(e.size):>10}  {_when(e.last_used)}{note}"
        )
    lines.append(f"{len(entries)} entries, {human_size(sum(e.size for e in entries))} in {root}")
    out("\n".join(lines))


def _report(verb: str, removed: list[CacheEntry], as_json: bool) -> None:
    if as_json:
        out(json.dumps({"removed": _as_json(removed)}, indent=2))
    else:
        out(f"{verb} {len(removed)} entries, {human_size(sum(e.size for e in removed))}")


@cache_app.command("prune")
def prune_command(
    older_than: Annotated[
        str,
        typer.Option("--older-than", help="Remove entries not used for this long: 30d, 12h, 2w."),
    ] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Remove entries not used recently, and leftovers of interrupted builds."""
    from ..cache import parse_age, prune
    from ..install import clear_uv_cache

    ctx = state.context()
    removed = prune(ctx.cache_dir, older_than=parse_age(older_than))
    clear_uv_cache(ctx, prune=True)
    _report("pruned", removed, as_json)


@cache_app.command("clean")
def clean_command(
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Remove every entry (entries a running build holds are left alone)."""
    from ..cache import clean
    from ..install import clear_uv_cache

    ctx = state.context()
    removed = clean(ctx.cache_dir)
    clear_uv_cache(ctx, prune=False)
    _report("removed", removed, as_json)
