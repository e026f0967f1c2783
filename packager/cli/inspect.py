"""`pack inspect ARCHIVE_OR_DIR`: a bundle's metadata and where its size goes, read straight
from the archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pack_runtime.layout import BIN, BUNDLE_JSON, PACK_DIR, PYTHON, SBOM_FILE, VENV

from ._app import app, out

if TYPE_CHECKING:
    from ..inspect import Inspection


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable: the loop returns at GiB


def render(result: Inspection) -> str:
    """The human-readable report (stdout of `pack inspect` without `--json`)."""
    lines: list[str] = []
    m = result.manifest
    if m is None:
        lines.append(f"{result.source}: no {BUNDLE_JSON} (not built by pack?)")
    else:
        lines += [
            f"{m.name} {m.version} for {m.target}",
            f"  python     {m.python.implementation} {m.python.version} ({m.python.asset})",
            f"  commands   {', '.join(ep.name for ep in m.entry_points) or '-'}",
            f"  built      {m.build.time} by pack {m.pack_version}",
        ]
        if m.lock is not None:
            lines.append(
                f"  lock       {m.lock.path} ({m.lock.format}, sha256 {m.lock.sha256[:12]})"
            )
        if result.sbom_components is not None:
            lines.append(
                f"  sbom       {SBOM_FILE}, CycloneDX, {result.sbom_components} "
                "components (pack sbom prints it)"
            )
        if m.update_signers:
            who = ", ".join(line.split()[0] for line in m.update_signers)
            lines.append(f"  updates    only when signed by {who}")
        if m.update_url:
            lines.append(f"  channel    {m.update_url}")
        if m.strip:
            lines.append(f"  stripped   {', '.join(m.strip)}")
        if m.smoke_test:
            lines.append(f"  smoke test {m.smoke_test}")
    if result.archive_size is not None:
        ratio = result.archive_size / result.sizes.total if result.sizes.total else 0.0
        lines.append(
            f"  archive    {result.format}, {human_size(result.archive_size)} "
            f"({ratio:.0%} of unpacked)"
        )
    s = result.sizes
    width = max([len(d.name) + len(d.version) + 5 for d in s.distributions] + [26])

    def row(label: str, size: int, files: str = "") -> str:
        share = f"{size / s.total:6.1%}" if s.total else "      "
        return f"  {label:<{width}} {human_size(size):>10} {share} {files}".rstrip()

    lines += ["", f"{result.files} files, {result.links} symlinks, {result.folders} folders"]
    lines.append(row(f"runtime ({PYTHON}/)", s.runtime))
    lines.append(row("site-packages", s.site_packages))
    for d in sorted(s.distributions, key=lambda d: (-d.size, d.name)):
        lines.append(row(f"  {d.name} {d.version}", d.size, f"{d.files} files"))
    if s.unattributed:
        lines.append(row("  (in no RECORD)", s.unattributed))
    lines.append(row(f"rest ({BIN}/, {VENV}/, {PACK_DIR}/)", s.rest))
    lines.append(row("total unpacked", s.total))
    return "\n".join(lines)


_SOURCE_HELP = "A pack archive (.tar.zst, .tar.gz, .tar.xz) or a bundle directory."
_JSON_HELP = "Print one JSON object instead of a report."


@app.command("inspect")
def inspect_command(
    source: Annotated[Path, typer.Argument(help=_SOURCE_HELP)],
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Show a bundle's metadata and a size breakdown, without unpacking it."""
    from ..inspect import inspect_bundle

    result = inspect_bundle(source)
    out(json.dumps(result.to_json(), indent=2, sort_keys=True) if as_json else render(result))
