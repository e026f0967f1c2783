"""The build phase: per round, every tool (in a rotating order) builds cold (its caches
emptied), then warm (every cache kept, one line of the app changed). After each warm pack
build, the reference for the rebuild target: the system tar piped into the zstd command at
pack's level, on the tree of the archive just built."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .proc import BenchError, Timed, run, timed
from .timing import Samples
from .tools import PACK_ZSTD_LEVEL, Pack, Step, Tool, pack_result
from .workspace import Workspace, bump_sample


@dataclass
class BuildFigures:
    cold: Samples = field(default_factory=Samples)
    warm: Samples = field(default_factory=Samples)
    #: pack only: what `pack build --json` said about each build
    pack_reports: list[dict[str, object]] = field(default_factory=list)


@dataclass
class BuildPhase:
    figures: dict[str, BuildFigures]
    #: `tar -cf - TREE | zstd -L -T0`, timed right after each warm pack build
    zstd_reference: Samples
    #: the same, paired: warm pack build wall / reference wall, one per pair
    pair_ratios: list[float]
    zstd_reference_command: str


def rotate(items: Sequence[Tool], by: int) -> list[Tool]:
    by %= len(items)
    return [*items[by:], *items[:by]]


def _run_steps(steps: list[Step]) -> Timed:
    wall = cpu = 0.0
    stdout = stderr = ""
    for step in steps:
        t = timed(step.argv, what=step.what, env=step.env)
        wall, cpu, stdout, stderr = wall + t.wall, cpu + t.cpu, t.stdout, t.stderr
    return Timed(wall, cpu, stdout, stderr)


def zstd_reference_argv(tree_parent: Path, top: str, out: Path) -> tuple[str, ...]:
    q = shlex.quote
    return (
        "sh",
        "-c",
        f"tar -cf - -C {q(str(tree_parent))} {q(top)} | "
        f"zstd -q -{PACK_ZSTD_LEVEL} -T0 -f -o {q(str(out))}",
    )


def _zstd_reference(ws: Workspace, pack: Pack) -> Timed:
    tree = ws.scratch("rebuild-tree")
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    run(["tar", "-xf", pack.artifact(), "-C", tree], what="unpacking the pack archive")
    (top,) = [p.name for p in tree.iterdir()]
    return timed(
        zstd_reference_argv(tree, top, ws.scratch("rebuild.tar.zst")),
        what="tar | zstd (the rebuild reference)",
    )


def run_builds(
    ws: Workspace,
    tools: Sequence[Tool],
    *,
    rounds: int,
    extra_warm_rounds: int,
    slow_cold_only: bool,
    say: Callable[[str], None],
) -> BuildPhase:
    figures = {t.key: BuildFigures() for t in tools}
    reference = Samples()
    ratios: list[float] = []
    mark = 0

    def build(tool: Tool, cold: bool) -> None:
        nonlocal mark
        mark += 1
        bump_sample(ws, mark)
        kind = "cold" if cold else "warm"
        t = _run_steps(tool.build_steps(cold))
        if not tool.artifact().exists():
            raise BenchError(f"{tool.label}: the {kind} build made no {tool.artifact()}")
        fig = figures[tool.key]
        (fig.cold if cold else fig.warm).wall.append(t.wall)
        (fig.cold if cold else fig.warm).cpu.append(t.cpu)
        extra = ""
        if isinstance(tool, Pack):
            report = pack_result(t.stdout)  # its `timings` give the steps
            report["kind"] = kind
            fig.pack_reports.append(report)
            if not cold:
                ref = _zstd_reference(ws, tool)
                reference.wall.append(ref.wall)
                reference.cpu.append(ref.cpu)
                ratios.append(t.wall / ref.wall)
                extra = f"; tar | zstd -{PACK_ZSTD_LEVEL}: {ref.wall:.1f}s"
        say(f"  {tool.label:24} {kind} build {t.wall:6.1f}s wall, {t.cpu:6.1f}s cpu{extra}")

    for r in range(rounds):
        say(f"builds, round {r + 1}/{rounds} (cold, then warm after a one-line change)")
        for tool in rotate(tools, r):
            tool.clean()
            tool.prime()
            build(tool, cold=True)
            if not (slow_cold_only and tool.slow_build):
                build(tool, cold=False)
    fast = [t for t in tools if not t.slow_build]
    for r in range(extra_warm_rounds):
        if not fast:
            break
        say(f"builds, extra warm round {r + 1}/{extra_warm_rounds} (PyInstaller skipped: slow)")
        for tool in rotate(fast, r + rounds):
            build(tool, cold=False)
    ref_cmd = f"tar -cf - -C $TREE benchapp-1.0.0 | zstd -q -{PACK_ZSTD_LEVEL} -T0 -f -o $OUT"
    return BuildPhase(figures, reference, ratios, ref_cmd)
