"""The compression table: the tree of pack's archive of the sample app, tarred once with the
system tar, then compressed and decompressed by each candidate (the zstd command at several
levels, gzip -9, xz -9) and by pack's own archive writer, so the default is chosen from
figures. Rows are interleaved by repetition; the slow ones run fewer times."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .proc import run
from .timing import Command, Samples, Timer
from .tools import PACK_ZSTD_LEVEL, RELEASE_LEVEL
from .workspace import Workspace

# Pack's writer on the bundle tree, in a fresh interpreter (its start-up is ~0.1 s of it).
_PACK_WRITER = """
import sys
from pathlib import Path
from packager.bundlearchive import ArchiveOptions, write_archive
tree, dest, level = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
write_archive(tree, dest, top=tree.name, options=ArchiveOptions(format="tar.zst", level=level))
"""


@dataclass(frozen=True)
class Codec:
    key: str
    label: str
    compress: tuple[str, ...]
    decompress: tuple[str, ...]
    output: Path
    slow: bool = False
    #: the zstd level, for zstd rows (the command's or pack's writer's)
    zstd_level: int | None = None
    pack_writer: bool = False


@dataclass
class CodecFigures:
    codec: Codec
    size: int
    compress: Samples
    decompress: Samples


def _sh(text: str) -> tuple[str, ...]:
    return ("sh", "-c", text)


def codecs(ws: Workspace, tar: Path, tree: Path, *, quick: bool) -> list[Codec]:
    d = ws.scratch("compression")

    def q(path: Path) -> str:
        return shlex.quote(str(path))

    t = q(tar)

    def zstd(level: int, long: bool = False) -> Codec:
        flags = f"-{level}" + (" --long=27" if long else "")
        key = f"zstd-{level}" + ("-long" if long else "")
        out = d / f"{key}.tar.zst"
        return Codec(
            key,
            f"zstd {flags}",
            _sh(f"zstd -q {flags} -T0 -f {t} -o {q(out)}"),
            _sh(f"zstd -q -d {'--long=27 ' if long else ''}-c {q(out)} > /dev/null"),
            out,
            slow=level > 15,
            zstd_level=level,
        )

    def writer(level: int, slow: bool = False) -> Codec:
        out = d / f"pack-{level}.tar.zst"
        default = " (the default)" if level == PACK_ZSTD_LEVEL else ""
        default = " (the release preset)" if level == RELEASE_LEVEL else default
        return Codec(
            f"pack-{level}",
            f"pack's writer, level {level}{default}",
            (sys.executable, "-c", _PACK_WRITER, str(tree), str(out), str(level)),
            _sh(f"zstd -q -d -c {q(out)} > /dev/null"),
            out,
            slow,
            level,
            pack_writer=True,
        )

    rows = [
        zstd(3),
        zstd(PACK_ZSTD_LEVEL),
        # pack's writer always uses long-distance matching: this row separates its effect from
        # the writer's own overhead
        zstd(PACK_ZSTD_LEVEL, long=True),
        zstd(19),
        zstd(19, long=True),
        Codec(
            "gzip-9",
            "gzip -9",
            _sh(f"gzip -9 -c {t} > {q(d / 'gz.tar.gz')}"),
            _sh(f"gzip -d -c {q(d / 'gz.tar.gz')} > /dev/null"),
            d / "gz.tar.gz",
            slow=True,
        ),
        Codec(
            "xz-9",
            "xz -9",
            _sh(f"xz -9 -T1 -c {t} > {q(d / 'xz.tar.xz')}"),
            _sh(f"xz -d -c {q(d / 'xz.tar.xz')} > /dev/null"),
            d / "xz.tar.xz",
            slow=True,
        ),
        writer(3),
        writer(PACK_ZSTD_LEVEL),
        writer(RELEASE_LEVEL, slow=True),
    ]
    # --quick leaves out the slow rows (a minute each): the size target needs xz -9, so it is
    # evaluated by full runs only.
    unique = {r.key: r for r in rows if not (quick and r.slow)}
    return list(unique.values())


def compression_table(
    ws: Workspace,
    bundle_root: Path,
    timer: Timer,
    *,
    reps: int,
    slow_reps: int,
    quick: bool,
    say: Callable[[str], None],
) -> tuple[list[CodecFigures], int]:
    """Figures per codec, and the size of the tar they all compress."""
    d = ws.scratch("compression")
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    tree = d / bundle_root.name
    shutil.copytree(bundle_root, tree, symlinks=True)
    tar = d / "tree.tar"
    run(["tar", "--sort=name", "-cf", tar, "-C", d, tree.name], what="tarring the bundle tree")
    rows = codecs(ws, tar, tree, quick=quick)
    figures = {c.key: CodecFigures(c, 0, Samples(), Samples()) for c in rows}
    env = ws.base_env()
    for rep in range(reps):
        todo = [c for c in rows if rep < slow_reps or not c.slow]
        todo = todo[rep % len(todo) :] + todo[: rep % len(todo)]
        say(f"compression, repetition {rep + 1}/{reps}: {', '.join(c.key for c in todo)}")
        for c in todo:
            fig = figures[c.key]
            fig.compress.extend(timer.measure(Command(c.compress, env), runs=1, what=c.label))
            fig.size = c.output.stat().st_size
            fig.decompress.extend(
                timer.measure(Command(c.decompress, env), runs=1, what=f"{c.label} -d")
            )
    return list(figures.values()), tar.stat().st_size
