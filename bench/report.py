"""Turning the figures into bench/results/latest.{md,json}: the tables (medians with min-max,
ratios to the floor and to pack, all measured in the same run), the targets with pass or
miss, the compression table and its recommendation, the machine, versions and commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .builds import BuildPhase
from .cli import CLI_FLOOR, CliPhase
from .compression import CodecFigures
from .runs import FLOOR, RunPhase
from .timing import Samples, Stats
from .tools import PACK_ZSTD_LEVEL, RELEASE_LEVEL, Tool

MiB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    passed: bool | None  # None: could not be evaluated, or a figure reported without a target
    detail: str
    report_only: bool = False

    @property
    def verdict(self) -> str:
        if self.report_only:
            return "figure"
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


def _cpu_ratio(a: float | None, b: float | None) -> str:
    return f"; in CPU time {a / b:.2f}x" if a and b else ""


def run_table(tools: Sequence[Tool], runs: RunPhase) -> list[str]:
    floor, floor_cpu = _med(runs.warm.get(FLOOR)), _cpu(runs.warm.get(FLOOR))
    pw, pf = _med(runs.warm.get("pack")), _med(runs.first.get("pack"))
    rows = []
    for key, label in [
        (FLOOR, "floor: `python -I -c 'import httpx, rich, click'`"),
        *((t.key, t.label) for t in tools if t.timed_runs),
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
                _span(runs.unpack_tmpfs.get(key), 1000, 0),
                str(runs.unpack_entries[key]) if key in runs.unpack_entries else "n/a",
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
            "unpack ms (tar -xf, disk)",
            "unpack ms (tmpfs)",
            "entries",
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


def _size_target(sizes: dict[str, int], key: str, label: str, limit: float, name: str) -> Target:
    ref = sizes.get("pyi-onedir-strip")
    if key not in sizes or not ref:
        return Target(name, None, "not measured (needs both tools in the run)")
    ratio = sizes[key] / ref
    return Target(
        name,
        ratio <= limit,
        f"{label} {sizes[key] / MiB:.2f} MiB, PyInstaller --onedir --strip as .tar.zst "
        f"-{PACK_ZSTD_LEVEL} {ref / MiB:.2f} MiB: {ratio:.2f}x (target <= {limit:.2f}x)",
    )


def targets(
    builds: BuildPhase,
    runs: RunPhase,
    sizes: dict[str, int],
    figs: Sequence[CodecFigures],
    tools: Sequence[Tool],
    cli: CliPhase | None = None,
) -> list[Target]:
    """Each target of issue 13 with pass or MISS and the figures behind it (ratios of
    medians from this run)."""
    out: list[Target] = []
    pack = builds.figures.get("pack")
    ref = _med(builds.zstd_reference)
    name = f"warm rebuild after a one-line change <= 1.0x `tar | zstd -{PACK_ZSTD_LEVEL} -T0`"
    if pack and pack.warm.wall and ref:
        wb = _med(pack.warm) or 0.0
        pair = Stats.of(builds.pair_ratios).median if builds.pair_ratios else wb / ref
        out.append(
            Target(
                name,
                pair <= 1.0,
                f"warm rebuild {wb:.2f}s, tar | zstd {ref:.2f}s: {pair:.2f}x (median of "
                f"{len(builds.pair_ratios)} back-to-back pairs; target <= 1.0x)",
            )
        )
    else:
        out.append(Target(name, None, "not measured"))

    pyi = builds.figures.get("pyi-onedir")
    name = "warm rebuild <= 0.25x PyInstaller --onedir warm build"
    pw_build, pyi_build = _med(pack.warm if pack else None), _med(pyi.warm if pyi else None)
    if pw_build and pyi_build:
        r = pw_build / pyi_build
        out.append(
            Target(
                name,
                r <= 0.25,
                f"pack {pw_build:.2f}s, PyInstaller --onedir {pyi_build:.2f}s: {r:.2f}x "
                "(target <= 0.25x)",
            )
        )
    else:
        out.append(Target(name, None, "not measured (--quick builds PyInstaller cold only)"))

    name = "`pack --version` <= 2.5x `python -I -c pass`"
    version = _med(cli.samples.get("pack --version")) if cli else None
    cli_floor = _med(cli.samples.get(CLI_FLOOR)) if cli else None
    if version and cli_floor:
        r = version / cli_floor
        out.append(
            Target(
                name,
                r <= 2.5,
                f"{version * 1000:.1f} ms vs {cli_floor * 1000:.1f} ms: {r:.2f}x (target <= 2.5x)",
            )
        )
    else:
        out.append(Target(name, None, "not measured"))

    out.append(
        _size_target(
            sizes,
            "pack",
            "pack",
            1.3,
            "shipped .tar.zst <= 1.3x PyInstaller --onedir --strip (same interpreter, full stdlib)",
        )
    )
    out.append(
        _size_target(
            sizes,
            "pack-slim",
            "pack --strip slim",
            1.0,
            "the same with the slim preset <= 1.0x",
        )
    )

    floor, pw = _med(runs.warm.get(FLOOR)), _med(runs.warm.get("pack"))
    name = "warm start <= 1.02x the floor"
    if floor and pw:
        detail = f"pack {pw * 1000:.0f} ms = {pw / floor:.2f}x the floor ({floor * 1000:.0f} ms)"
        pc, fc = _cpu(runs.warm.get("pack")), _cpu(runs.warm.get(FLOOR))
        if pc and fc:
            detail += f"; in CPU time {pc / fc:.2f}x"
        peers = {
            t.label: _med(runs.warm.get(t.key))
            for t in tools
            if t.key not in ("pack", "pack-slim", "venv") and runs.warm.get(t.key)
        }
        if peers:
            fastest = min(peers.items(), key=lambda kv: kv[1] or 1e9)
            detail += (
                f"; fastest peer {fastest[0]} {(fastest[1] or 0) * 1000:.0f} ms = "
                f"{(fastest[1] or 0) / pw:.2f}x pack"
            )
        out.append(Target(name, pw <= 1.02 * floor, detail + "; target <= 1.02x"))
    else:
        out.append(Target(name, None, "not measured"))

    pf = _med(runs.first.get("pack"))
    paired = _med(runs.paired_warm) or pw
    first_cpu, paired_cpu = _cpu(runs.first.get("pack")), _cpu(runs.paired_warm)
    name = "first run <= 1.05x warm start"
    if pf and paired:
        # The median of the per-round ratios when there are rounds: each compares runs made
        # minutes apart at most, so the machine's drifting load cancels out.
        ratio = Stats.of(runs.first_ratios).median if runs.first_ratios else pf / paired
        rounds = (
            f": the median of {len(runs.first_ratios)} per-round ratios"
            if runs.first_ratios
            else ""
        )
        out.append(
            Target(
                name,
                ratio <= 1.05,
                f"first run {pf * 1000:.0f} ms, warm start {paired * 1000:.0f} ms (the warm "
                "bundle, in the same rounds, each run after the same unpack into another "
                f"folder){rounds}: {ratio:.2f}x{_cpu_ratio(first_cpu, paired_cpu)}; "
                "target <= 1.05x",
            )
        )
    else:
        out.append(Target(name, None, "not measured"))

    xz = next((f for f in figs if f.codec.key == "xz-9"), None)
    release = next((f for f in figs if f.codec.key == f"pack-{RELEASE_LEVEL}"), None)
    name = f"release preset (`--compression-level {RELEASE_LEVEL}`) vs xz -9 (reported)"
    if xz and release:
        rc, xc = _med(release.compress), _med(xz.compress)
        out.append(
            Target(
                name,
                None,
                f"pack {release.size / MiB:.2f} MiB in {rc or 0:.0f}s, xz -9 "
                f"{xz.size / MiB:.2f} MiB in {xc or 0:.0f}s: {release.size / xz.size:.3f}x",
                report_only=True,
            )
        )
    else:
        out.append(Target(name, None, "not measured (--quick leaves out the slow rows)"))
    out.append(_release_build(builds, sizes))
    return out


def _release_build(builds: BuildPhase, sizes: dict[str, int]) -> Target:
    """The release preset as a build: its size against PyInstaller's and what it costs, cold
    (the cached segments compressed at the higher level, once per cache) and warm (only the
    app's part)."""
    name = (
        f"release preset build (`pack build --compression-level {RELEASE_LEVEL}`) vs "
        "PyInstaller --onedir --strip, and its cost (reported)"
    )
    pack, release = builds.figures.get("pack"), builds.figures.get("pack-release")
    ref, size = sizes.get("pyi-onedir-strip"), sizes.get("pack-release")
    pc, rc = _med(pack.cold if pack else None), _med(release.cold if release else None)
    pw, rw = _med(pack.warm if pack else None), _med(release.warm if release else None)
    if not (ref and size and pc and rc and pw and rw):
        return Target(name, None, "not measured (needs pack, its release build and PyInstaller)")
    saved = (sizes.get("pack", size) - size) / MiB
    return Target(
        name,
        None,
        f"{size / MiB:.2f} MiB = {size / ref:.2f}x PyInstaller --onedir --strip "
        f"({saved:.2f} MiB less than pack's default); cold build {rc:.1f}s (+{rc - pc:.1f}s), "
        f"warm rebuild {rw:.1f}s (+{rw - pw:.1f}s)",
        report_only=True,
    )


def pack_breakdown(builds: BuildPhase, kind: str) -> str:
    """Median seconds of each step of pack's builds of one kind, from the `timings` of
    `pack build --json`; what the process took beyond pack's own clock (interpreter start-up,
    imports, the summary) comes first."""
    pack = builds.figures.get("pack")
    if pack is None:
        return ""
    reports = [r for r in pack.pack_reports if r.get("kind") == kind]
    walls = pack.warm.wall if kind == "warm" else pack.cold.wall
    steps: dict[str, list[float]] = {}
    for report, wall in zip(reports, walls, strict=False):
        raw = report.get("timings")
        seconds = report.get("seconds")
        if not isinstance(raw, dict) or not isinstance(seconds, int | float):
            continue
        steps.setdefault("start-up (python, imports)", []).append(wall - float(seconds))
        for name, value in raw.items():
            steps.setdefault(str(name), []).append(float(value))
    if not steps:
        return ""
    parts = [f"{name} {Stats.of(v).median:.2f}" for name, v in steps.items()]
    return (
        f"pack's {kind} build, step by step (median s, from `pack build --json` timings): "
        + ", ".join(parts)
    )


def cli_table(cli: CliPhase) -> list[str]:
    """pack's own command line: median (min-max) ms and the ratio to `python -I -c pass`."""
    floor = _med(cli.samples.get(CLI_FLOOR))
    rows = [
        [f"`{label}`", _span(s, 1000, 1), _ratio(_med(s), floor)]
        for label, s in cli.samples.items()
    ]
    return _table(["command", "ms", "x python -I -c pass"], rows)


def to_json(obj: Any) -> Any:
    if isinstance(obj, Samples):
        return obj.to_json()
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    return obj
