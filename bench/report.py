"""Turning the figures into bench/results/latest.{md,json}: the tables (medians with min-max,
ratios to the floor and to pack, all measured in the same run), the targets with pass or
miss, the compression table and its recommendation, the machine, versions and commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .builds import BuildPhase
from .compression import CodecFigures
from .runs import FLOOR, RunPhase
from .timing import Samples, Stats
from .tools import PACK_ZSTD_LEVEL, Tool

MiB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    passed: bool | None  # None: could not be evaluated
    detail: str

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "MISS", None: "n/a"}[self.passed]


def _med(s: Samples | None) -> float | None:
    return Stats.of(s.wall).median if s is not None and s.wall else None


def _span(s: Samples | None, scale: float, digits: int) -> str:
    if s is None or not s.wall:
        return "n/a"
    st = Stats.of(s.wall)
    f = f"{{:.{digits}f}}"
    if st.n == 1:
        return f.format(st.median * scale)
    return f"{f.format(st.median * scale)} ({f.format(st.low * scale)}-{f.format(st.high * scale)})"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def build_table(
    tools: Sequence[Tool], builds: BuildPhase, sizes: dict[str, int], runs: RunPhase
) -> list[str]:
    pack = builds.figures.get("pack")
    pw, pc = _med(pack.warm if pack else None), _med(pack.cold if pack else None)
    ps = sizes.get("pack")
    rows = []
    for t in tools:
        f = builds.figures[t.key]
        sc = runs.self_contained.get(t.key)
        rows.append(
            [
                t.label,
                _span(f.warm, 1, 1),
                _ratio(_med(f.warm), pw),
                _span(f.cold, 1, 1),
                _ratio(_med(f.cold), pc),
                f"{sizes[t.key] / MiB:.1f}",
                _ratio(sizes[t.key], ps),
                ("yes" if sc.ok else "no") if sc else "n/a",
            ]
        )
    return _table(
        [
            "tool",
            "warm build s",
            "x pack",
            "cold build s",
            "x pack",
            "shipped MiB",
            "x pack",
            "self-contained",
        ],
        rows,
    )


def _cpu(s: Samples | None) -> float | None:
    return Stats.of(s.cpu).median if s is not None and s.cpu else None


def run_table(tools: Sequence[Tool], runs: RunPhase) -> list[str]:
    floor, floor_cpu = _med(runs.warm.get(FLOOR)), _cpu(runs.warm.get(FLOOR))
    pw, pf = _med(runs.warm.get("pack")), _med(runs.first.get("pack"))
    rows = []
    for key, label in [
        (FLOOR, "floor: `python -I -c 'import httpx, rich, click'`"),
        *((t.key, t.label) for t in tools),
    ]:
        w, f = runs.warm.get(key), runs.first.get(key)
        cpu = _cpu(w)
        rt = runs.runtime_bytes.get(key)
        rows.append(
            [
                label,
                _span(w, 1000, 0),
                _ratio(_med(w), floor),
                _ratio(_med(w), pw),
                f"{cpu * 1000:.0f}" if cpu else "n/a",
                _ratio(cpu, floor_cpu),
                _span(f, 1000, 0),
                _ratio(_med(f), floor),
                _ratio(_med(f), pf),
                _span(runs.unpack.get(key), 1000, 0),
                f"{rt / MiB:.1f} MiB" if rt else "0",
            ]
        )
    return _table(
        [
            "",
            "warm start ms",
            "x floor",
            "x pack",
            "CPU ms",
            "x floor",
            "first run ms",
            "x floor",
            "x pack",
            "unpack ms (tar -xf)",
            "written at run time",
        ],
        rows,
    )


def compression_rows(figs: Sequence[CodecFigures], tar_size: int) -> list[str]:
    xz = next((f.size for f in figs if f.codec.key == "xz-9"), None)
    rows = []
    for f in figs:
        c = _med(f.compress)
        rows.append(
            [
                f.codec.label,
                f"{f.size / MiB:.2f}",
                f"{f.size / tar_size:.3f}",
                _ratio(f.size, xz),
                _span(f.compress, 1, 2),
                f"{tar_size / MiB / c:.1f}" if c else "n/a",
                _span(f.decompress, 1000, 0),
            ]
        )
    return _table(
        ["codec", "MiB", "ratio", "x xz -9", "compress s", "MiB/s in", "decompress ms"],
        rows,
    )


#: a level is worth it while each MiB it saves costs at most this many more seconds of
#: compression (1 s/MiB: compressing harder is then still faster than sending the MiB over a
#: 1 MiB/s link, and it is paid at every warm rebuild)
SECONDS_PER_MIB_SAVED = 1.0


def recommend_level(figs: Sequence[CodecFigures]) -> tuple[int, str]:
    """Walk up the zstd command's levels (without long matching); take the next level while
    each MiB it saves costs at most SECONDS_PER_MIB_SAVED more compression time."""
    rows = sorted(
        (
            f
            for f in figs
            if f.codec.zstd_level is not None
            and not f.codec.pack_writer
            and "long" not in f.codec.key
            and f.compress.wall
        ),
        key=lambda f: f.codec.zstd_level or 0,
    )
    if len(rows) < 2:
        return PACK_ZSTD_LEVEL, "not enough levels measured; keep the default"
    chosen = rows[0]
    steps = []
    for nxt in rows[1:]:
        saved = (chosen.size - nxt.size) / MiB
        extra = (_med(nxt.compress) or 0.0) - (_med(chosen.compress) or 0.0)
        cost = extra / saved if saved > 0 else float("inf")
        a, b = chosen.codec.zstd_level, nxt.codec.zstd_level
        steps.append(f"{a} -> {b}: {saved:.1f} MiB smaller for {extra:+.1f} s = {cost:.2f} s/MiB")
        if cost > SECONDS_PER_MIB_SAVED:
            break
        chosen = nxt
    level = chosen.codec.zstd_level or PACK_ZSTD_LEVEL
    return level, (
        f"the highest level at which each MiB saved costs at most {SECONDS_PER_MIB_SAVED:.0f} s "
        f"of compression: {'; '.join(steps)}"
    )


def targets(
    builds: BuildPhase,
    runs: RunPhase,
    sizes: dict[str, int],
    figs: Sequence[CodecFigures],
    tools: Sequence[Tool],
) -> list[Target]:
    out: list[Target] = []
    floor, pw = _med(runs.warm.get(FLOOR)), _med(runs.warm.get("pack"))
    peers = {
        t.label: _med(runs.warm.get(t.key))
        for t in tools
        if t.key not in ("pack", "venv") and runs.warm.get(t.key)
    }
    if floor and pw:
        slower = [f"{k} {v * 1000:.0f} ms" for k, v in peers.items() if v is not None and v <= pw]
        ok = pw <= 1.10 * floor and not slower
        detail = (
            f"pack {pw * 1000:.0f} ms = {pw / floor:.2f}x the floor ({floor * 1000:.0f} ms; "
            f"target <= 1.10x)"
        )
        pc, fc = _cpu(runs.warm.get("pack")), _cpu(runs.warm.get(FLOOR))
        if pc and fc:
            detail += f"; in CPU time {pc / fc:.2f}x"
        if peers:
            fastest = min(peers.items(), key=lambda kv: kv[1] or 1e9)
            detail += (
                f"; fastest peer {fastest[0]} {(fastest[1] or 0) * 1000:.0f} ms = "
                f"{(fastest[1] or 0) / pw:.2f}x pack"
            )
        if slower:
            detail += f"; not ahead of: {', '.join(slower)}"
        out.append(Target("warm start within 10% of the floor, ahead of every peer", ok, detail))
    else:
        out.append(
            Target("warm start within 10% of the floor, ahead of every peer", None, "not measured")
        )
    pf = _med(runs.first.get("pack"))
    paired = _med(runs.paired_warm) or pw
    if pf and paired:
        out.append(
            Target(
                "first run within 10% of warm start",
                pf <= 1.10 * paired,
                f"first run {pf * 1000:.0f} ms = {pf / paired:.2f}x warm start "
                f"({paired * 1000:.0f} ms: the warm bundle, in the same rounds, each run after "
                "the same unpack into another folder; target <= 1.10x)",
            )
        )
    pack = builds.figures.get("pack")
    ref = _med(builds.zstd_reference)
    if pack and pack.warm.wall and ref:
        wb = _med(pack.warm) or 0.0
        pair = Stats.of(builds.pair_ratios).median if builds.pair_ratios else wb / ref
        out.append(
            Target(
                f"warm rebuild <= 1.5x `tar | zstd -{PACK_ZSTD_LEVEL} -T0` on the same tree",
                pair <= 1.5,
                f"warm rebuild {wb:.1f}s, tar | zstd {ref:.1f}s: {pair:.2f}x (median of "
                f"{len(builds.pair_ratios)} back-to-back pairs; target <= 1.5x)",
            )
        )
    xz = next((f.size for f in figs if f.codec.key == "xz-9"), None)
    if xz is None:
        out.append(
            Target(
                "archive within 5% of xz -9 on the same tree",
                None,
                "xz -9 not run (--quick leaves out the slow compressors)",
            )
        )
    elif "pack" in sizes:
        ratio = sizes["pack"] / xz
        out.append(
            Target(
                "archive within 5% of xz -9 on the same tree",
                ratio <= 1.05,
                f"pack {sizes['pack'] / MiB:.2f} MiB, xz -9 {xz / MiB:.2f} MiB: "
                f"{ratio:.3f}x (target <= 1.05x)",
            )
        )
    return out


def pack_breakdown(builds: BuildPhase, kind: str) -> str:
    """Median seconds of each step of pack's builds of one kind, from `pack -v`; what the
    process took beyond pack's own clock (interpreter start-up, imports) comes first."""
    pack = builds.figures.get("pack")
    if pack is None:
        return ""
    reports = [r for r in pack.pack_reports if r.get("kind") == kind]
    walls = pack.warm.wall if kind == "warm" else pack.cold.wall
    steps: dict[str, list[float]] = {}
    for report, wall in zip(reports, walls, strict=False):
        raw = report.get("steps")
        seconds = report.get("seconds")
        if not isinstance(raw, dict) or not isinstance(seconds, int | float):
            continue
        steps.setdefault("start-up (python, imports)", []).append(wall - float(seconds))
        for name, value in raw.items():
            steps.setdefault(str(name), []).append(float(value))
    if not steps:
        return ""
    parts = [f"{name} {Stats.of(v).median:.1f}" for name, v in steps.items()]
    return f"pack's {kind} build, step by step (median s, from `pack -v`): " + ", ".join(parts)


def to_json(obj: Any) -> Any:
    if isinstance(obj, Samples):
        return obj.to_json()
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    return obj
