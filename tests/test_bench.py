"""The benchmark's own logic, on figures made up for the purpose: medians and spans, the
targets' ratios and verdicts, the step breakdown read from `pack build --json` timings, the
zstd level recommendation and the command-line table. (The measurements themselves are
`make bench`'s business, never asserted in tests.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import report
from bench.builds import BuildFigures, BuildPhase
from bench.cli import CLI_FLOOR, CliPhase, cli_commands
from bench.compression import RELEASE_LEVEL, Codec, CodecFigures
from bench.runs import FLOOR, RunPhase, count_entries, tmpfs_dir, unpack_command
from bench.timing import Samples, Stats
from bench.tools import ALL, PACK_ZSTD_LEVEL, Tool
from bench.workspace import Workspace

MiB = 1 << 20


def _s(*wall: float, cpu: tuple[float, ...] = ()) -> Samples:
    return Samples(list(wall), list(cpu))


def _tools() -> list[Tool]:
    ws = Workspace(Path("/nonexistent/work"), Path("/nonexistent/cpython.tar.gz"))
    return [cls(ws) for cls in ALL]


def _codec(key: str, level: int | None = None, writer: bool = False) -> Codec:
    return Codec(key, key, ("true",), ("true",), Path("/dev/null"), zstd_level=level,
                 pack_writer=writer)  # fmt: skip


def _figures(
    *,
    pack_warm: tuple[float, ...] = (2.0, 2.4, 2.2),
    reference: tuple[float, ...] = (2.5, 2.5, 2.5),
    pairs: tuple[float, ...] = (0.8, 0.9, 1.1),
    pyi_warm: tuple[float, ...] = (10.0, 9.0),
) -> BuildPhase:
    figures = {t.key: BuildFigures() for t in _tools()}
    figures["pack"].warm = _s(*pack_warm)
    figures["pack"].cold = _s(6.0, 5.0)
    figures["pack-release"].warm = _s(2.5)
    figures["pack-release"].cold = _s(30.5)
    figures["pyi-onedir"].warm = _s(*pyi_warm)
    return BuildPhase(figures, _s(*reference), list(pairs), "tar | zstd")


def _runs(
    floor: float = 0.250, pack: float = 0.252, first: float = 0.260, paired: float = 0.255
) -> RunPhase:
    runs = RunPhase()
    runs.warm = {FLOOR: _s(floor, floor), "pack": _s(pack, pack), "shiv": _s(0.3)}
    runs.first = {"pack": _s(first, cpu=(0.2,))}
    runs.paired_warm = _s(paired, cpu=(0.25,))
    return runs


def _cli(version: float = 0.012, floor: float = 0.010) -> CliPhase:
    return CliPhase({CLI_FLOOR: _s(floor, floor * 1.2, floor * 0.9), "pack --version": _s(version)})


SIZES = {
    "pack": 13 * MiB,
    "pack-slim": 9 * MiB,
    "pack-release": 12 * MiB,
    "pyi-onedir-strip": 10 * MiB,
}
FIGS = [
    CodecFigures(_codec("xz-9"), 8 * MiB, _s(60.0), _s(1.0)),
    CodecFigures(_codec(f"pack-{RELEASE_LEVEL}", RELEASE_LEVEL, True), 9 * MiB, _s(40.0), _s(0.2)),
]


def _by_name(targets: list[report.Target]) -> dict[str, report.Target]:
    return {t.name.split(" <=")[0].split(" (")[0]: t for t in targets}


def test_stats_median_and_span() -> None:
    st = Stats.of([3.0, 1.0, 2.0, 10.0])
    assert (st.median, st.low, st.high, st.n) == (2.5, 1.0, 10.0, 4)
    assert report._span(_s(0.25, 0.2, 0.3), 1000, 0) == "250 (200-300)"
    assert report._span(_s(1.234), 1, 1) == "1.2"
    assert report._span(Samples(), 1, 1) == "n/a"
    assert report._ratio(3.0, 2.0) == "1.50x"
    assert report._ratio(None, 2.0) == report._ratio(1.0, 0) == "n/a"
    with pytest.raises(ValueError):
        Stats.of([])


def test_every_target_passes_on_good_figures() -> None:
    got = report.targets(_figures(), _runs(), SIZES, FIGS, _tools(), _cli())
    verdicts = {t.name: t.verdict for t in got}
    assert list(verdicts.values()) == ["pass"] * 7 + ["figure"] * 2
    by = _by_name(got)
    rebuild = by["warm rebuild after a one-line change"]
    # The ratio is the median of the back-to-back pairs, not of the two medians.
    assert "0.90x (median of 3 back-to-back pairs" in rebuild.detail
    assert "pack 2.20s, PyInstaller --onedir 9.50s: 0.23x" in by["warm rebuild"].detail
    assert "12.0 ms vs 10.0 ms: 1.20x" in by["`pack --version`"].detail
    assert (
        "pack 13.00 MiB, PyInstaller --onedir --strip as .tar.zst" in by["shipped .tar.zst"].detail
    )
    assert "1.30x" in by["shipped .tar.zst"].detail  # exactly at the limit passes
    assert "0.90x" in by["the same with the slim preset"].detail
    assert "1.01x the floor" in by["warm start"].detail
    assert "fastest peer" in by["warm start"].detail
    assert by["first run"].detail == (
        "first run 260 ms, warm start 255 ms (the warm bundle, in the same rounds, each run "
        "after the same unpack into another folder): 1.02x; in CPU time 0.80x; target <= 1.05x"
    )
    release = by["release preset"]
    assert release.passed is None and "1.125x" in release.detail
    assert by["release preset build"].detail == (
        "12.00 MiB = 1.20x PyInstaller --onedir --strip (1.00 MiB less than pack's default); "
        "cold build 30.5s (+25.0s), warm rebuild 2.5s (+0.3s)"
    )


def test_targets_miss_just_past_each_limit() -> None:
    sizes = {"pack": int(13.2 * MiB), "pack-slim": int(10.1 * MiB), "pyi-onedir-strip": 10 * MiB}
    sizes["pack-release"] = 12 * MiB
    got = report.targets(
        _figures(pairs=(1.05, 1.2, 0.9), pack_warm=(3.0,), pyi_warm=(10.0,)),
        _runs(floor=0.250, pack=0.260, first=0.270, paired=0.255),
        sizes,
        FIGS,
        _tools(),
        _cli(version=0.026),
    )
    assert [t.verdict for t in got] == ["MISS"] * 7 + ["figure"] * 2


def test_targets_without_figures_say_so() -> None:
    empty = BuildPhase({t.key: BuildFigures() for t in _tools()}, Samples(), [], "")
    got = report.targets(empty, RunPhase(), {}, [], _tools(), None)
    assert {t.verdict for t in got} == {"n/a"}
    assert "--quick" in _by_name(got)["release preset"].detail


def test_step_breakdown_comes_from_the_json_timings() -> None:
    phase = _figures(pack_warm=(2.0, 3.0))
    phase.figures["pack"].cold = Samples()
    phase.figures["pack"].pack_reports = [
        {"kind": "warm", "seconds": 1.8, "timings": {"plan": 0.1, "archive": 0.5}},
        {"kind": "warm", "seconds": 2.6, "timings": {"plan": 0.3, "archive": 0.7}},
        {"kind": "cold", "seconds": 9.0, "timings": {"provision": 5.0}},
    ]
    line = report.pack_breakdown(phase, "warm")
    assert line == (
        "pack's warm build, step by step (median s, from `pack build --json` timings): "
        "start-up (python, imports) 0.30, plan 0.20, archive 0.60"
    )
    assert report.pack_breakdown(phase, "cold") == ""  # no cold wall times recorded


def test_recommend_level_stops_when_a_mib_costs_more_than_a_second() -> None:
    figs = [
        CodecFigures(_codec("zstd-3", 3), 40 * MiB, _s(2.0), _s(0.1)),
        CodecFigures(
            _codec(f"zstd-{PACK_ZSTD_LEVEL}", PACK_ZSTD_LEVEL), 37 * MiB, _s(4.0), _s(0.1)
        ),
        CodecFigures(_codec("zstd-19", 19), 34 * MiB, _s(60.0), _s(0.1)),
        CodecFigures(_codec("pack-19", 19, True), 30 * MiB, _s(1.0), _s(0.1)),  # not a candidate
    ]
    level, why = report.recommend_level(figs)
    assert level == PACK_ZSTD_LEVEL
    assert f"3 -> {PACK_ZSTD_LEVEL}: 3.0 MiB smaller for +2.0 s = 0.67 s/MiB" in why
    assert f"{PACK_ZSTD_LEVEL} -> 19: 3.0 MiB smaller for +56.0 s = 18.67 s/MiB" in why


def test_cli_table_and_commands() -> None:
    table = report.cli_table(_cli())
    assert table[2] == "| `python -I -c pass` | 10.0 (9.0-12.0) | 1.00x |"
    assert table[3] == "| `pack --version` | 12.0 | 1.20x |"
    cmds = cli_commands(Path("/v/bin/pack"), Path("/v/bin/python"), Path("/d/a.tar.zst"))
    assert cmds[CLI_FLOOR] == ("/v/bin/python", "-I", "-c", "pass")
    assert cmds["pack inspect ARCHIVE"] == ("/v/bin/pack", "inspect", "/d/a.tar.zst")


def test_the_tools_compared_on_size_are_built_alike() -> None:
    tools = {t.key: t for t in _tools()}
    slim = tools["pack-slim"].build_steps(cold=False)[0].argv
    plain = tools["pack"].build_steps(cold=False)[0].argv
    own = str(tools["pack"].ws.out("pack"))
    assert [a.replace("pack-slim", "pack") for a in slim] == [*plain, "--strip", "slim"]
    release = tools["pack-release"].build_steps(cold=False)[0].argv
    assert [a.replace("pack-release", "pack") for a in release] == [
        *plain,
        "--compression-level",
        str(RELEASE_LEVEL),
    ]
    assert not tools["pack-release"].timed_runs  # the same bundle as pack's runs
    assert own in plain and "--json" in plain and "-v" not in plain
    strip = tools["pyi-onedir-strip"].build_steps(cold=False)
    onedir = tools["pyi-onedir"].build_steps(cold=False)
    same = [a.replace("pyi-onedir-strip", "pyi-onedir") for a in strip[0].argv]
    assert [a for a in same if a not in onedir[0].argv] == ["--strip"]
    # Both PyInstaller folders are archived the same way as pack's default level.
    assert f"zstd -q -{PACK_ZSTD_LEVEL} -T0" in strip[-1].argv[-1]


def test_unpack_is_prepared_with_an_emptied_folder_and_a_sync(tmp_path: Path) -> None:
    dest = tmp_path / "a b"
    cmd = unpack_command(Path("/x/app.tar.zst"), dest, {"PATH": "/usr/bin"})
    assert cmd.argv == ("tar", "-xf", "/x/app.tar.zst", "-C", str(dest))
    assert cmd.prepare == ("sh", "-c", f"rm -rf '{dest}' && mkdir -p '{dest}' && sync")


def test_unpack_table_has_disk_tmpfs_and_entries_columns(tmp_path: Path) -> None:
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "link").symlink_to("d")
    assert count_entries(tmp_path) == 4
    runs = _runs()
    runs.unpack = {"pack": _s(0.3, 0.5, 0.4)}
    runs.unpack_tmpfs = {"pack": _s(0.1, 0.12, 0.11)}
    runs.unpack_entries = {"pack": 2345}
    lines = report.run_table(_tools(), runs)
    assert "| unpack ms (tar -xf, disk) | unpack ms (tmpfs) | entries |" in lines[0]
    pack = next(line for line in lines if line.startswith("| pack |"))
    assert "| 400 (300-500) | 110 (100-120) | 2345 |" in pack


def test_tmpfs_dir_is_a_fresh_folder_in_dev_shm() -> None:
    ram = tmpfs_dir()
    if not Path("/dev/shm").is_dir():
        assert ram is None
        return
    assert ram is not None and ram.parent == Path("/dev/shm") and not any(ram.iterdir())
    ram.rmdir()


def test_first_run_target_is_the_median_of_the_per_round_ratios() -> None:
    # Medians over all rounds say 1.08x (a miss); round by round the first run was never more
    # than 4% slower than the warm starts beside it: the load drifted between rounds.
    runs = _runs(first=0.270, paired=0.250)
    runs.first_ratios = [1.04, 0.98, 1.01]
    (first,) = [t for t in report.targets(_figures(), runs, SIZES, FIGS, _tools(), _cli())
                if t.name.startswith("first run")]  # fmt: skip
    assert first.passed is True
    assert "folder): the median of 3 per-round ratios: 1.01x; in CPU time" in first.detail
