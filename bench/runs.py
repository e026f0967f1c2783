"""The run phase, on the artifacts of the last builds: whether each runs with every host
Python hidden (bubblewrap), warm start, first run, unpack time, all interleaved by round."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.bundles import bwrap_argv

from .builds import rotate
from .proc import BenchError, run
from .timing import Command, Samples, Stats, Timer
from .tools import Pack, PlainVenv, Tool, dir_bytes
from .workspace import Workspace

EXPECTED = "benchapp 1.0.0"
FLOOR = "floor"


@dataclass
class SelfContained:
    ok: bool
    detail: str


@dataclass
class RunPhase:
    warm: dict[str, Samples] = field(default_factory=dict)
    first: dict[str, Samples] = field(default_factory=dict)
    unpack: dict[str, Samples] = field(default_factory=dict)
    #: the same unpack into a tmpfs: what the archive costs, without the disk's file creation
    unpack_tmpfs: dict[str, Samples] = field(default_factory=dict)
    #: entries in each unpacked archive (files, folders, links)
    unpack_entries: dict[str, int] = field(default_factory=dict)
    #: pack's warm start measured right after its first runs, round by round, each run after
    #: the same unpack as a first run but into another folder (Pack.control_prepare): the
    #: first-run target compares like with like
    paired_warm: Samples = field(default_factory=Samples)
    #: per round: pack's median first run ÷ the median of its paired warm starts (the target
    #: is the median of these, so load that drifts between rounds cancels out)
    first_ratios: list[float] = field(default_factory=list)
    self_contained: dict[str, SelfContained] = field(default_factory=dict)
    #: bytes a tool writes outside itself at run time (pex/shiv roots)
    runtime_bytes: dict[str, int] = field(default_factory=dict)
    commands: dict[str, dict[str, str]] = field(default_factory=dict)


def _check(exe: Path, env: dict[str, str], label: str) -> None:
    proc = run([exe, "--version"], what=f"running {label}", env=env)
    if EXPECTED not in proc.stdout:
        raise BenchError(f"{label}: `{exe} --version` printed {proc.stdout!r}, not {EXPECTED!r}")


def _sandboxed(ws: Workspace, tool: Tool, exe: Path) -> SelfContained:
    """Run under bubblewrap with every Python of the host hidden, including the interpreter
    the peers were built with and every venv and cache of the benchmark."""
    if shutil.which("bwrap") is None:
        return SelfContained(False, "not checked: bubblewrap is not installed")
    argv = bwrap_argv([])
    for hidden in (ws.interp_dir, ws.tools, ws.root / "cache", ws.root / "uv-tools-cache"):
        if hidden.exists():
            argv += ["--tmpfs", str(hidden)]
    proc = run(
        [*argv, str(exe), "--version"],
        what=f"{tool.label} under bwrap",
        env=tool.run_env(sandbox=True),
        check=False,
    )
    if proc.returncode == 0 and EXPECTED in proc.stdout:
        return SelfContained(True, "runs")
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    last = lines[-1] if lines else ""
    if "execvp" in last and "No such file" in last:
        # The kernel could not find the interpreter its shebang names: it is a hidden one.
        return SelfContained(False, "needs a host Python (the interpreter it names is hidden)")
    return SelfContained(False, f"exit {proc.returncode}: {last}"[:160])


def run_phase(
    ws: Workspace,
    tools: Sequence[Tool],
    timer: Timer,
    *,
    start_rounds: int,
    start_runs: int,
    first_rounds: int,
    first_runs: int,
    unpack_rounds: int,
    say: Callable[[str], None],
) -> RunPhase:
    out = RunPhase()
    exes: dict[str, Path] = {}
    for tool in tools:
        exes[tool.key] = tool.install()
        _check(exes[tool.key], tool.run_env(), tool.label)
        out.self_contained[tool.key] = _sandboxed(ws, tool, exes[tool.key])
        say(f"  {tool.label:24} self-contained: {out.self_contained[tool.key].detail}")

    warm_cmds: dict[str, Command] = {
        t.key: Command((str(exes[t.key]), "--version"), t.run_env()) for t in tools
    }
    venv = next((t for t in tools if isinstance(t, PlainVenv)), None)
    if venv is not None:
        warm_cmds[FLOOR] = Command(venv.floor(), venv.run_env())
    for key, cmd in warm_cmds.items():
        out.commands.setdefault(key, {})["warm start"] = cmd.shell()
        out.warm[key] = Samples()

    order = [*warm_cmds]
    for r in range(start_rounds):
        say(f"warm start, round {r + 1}/{start_rounds}")
        for key in order[r % len(order) :] + order[: r % len(order)]:
            s = timer.measure(warm_cmds[key], runs=start_runs, warmup=1, what=f"{key} warm start")
            out.warm[key].extend(s)

    first_cmds: dict[str, Command] = {}
    for tool in tools:
        spec = tool.first_run()
        if spec is None:
            continue
        prepare, exe = spec
        first_cmds[tool.key] = Command((str(exe), "--version"), tool.run_env(), prepare=prepare)
        out.commands.setdefault(tool.key, {})["first run prepare"] = shlex.join(prepare)
        out.first[tool.key] = Samples()
    firsts = [t for t in tools if t.key in first_cmds]
    for r in range(first_rounds):
        say(f"first run, round {r + 1}/{first_rounds}")
        for tool in rotate(firsts, r):
            # pack's target needs a tighter median than the other tools' columns: twice the runs
            n = first_runs * (2 if tool.key == "pack" else 1)
            s = timer.measure(first_cmds[tool.key], runs=n, what=f"{tool.key} first run")
            out.first[tool.key].extend(s)
            if isinstance(tool, Pack):
                control = Command(
                    warm_cmds["pack"].argv, warm_cmds["pack"].env, prepare=tool.control_prepare()
                )
                out.commands["pack"]["warm start after the same unpack elsewhere"] = control.shell()
                out.commands["pack"]["its prepare"] = shlex.join(tool.control_prepare())
                warm = timer.measure(control, runs=n, what="pack warm start")
                out.paired_warm.extend(warm)
                out.first_ratios.append(Stats.of(s.wall).median / Stats.of(warm.wall).median)

    for tool in tools:
        cache = tool.runtime_cache()
        if cache is not None and cache.exists():
            out.runtime_bytes[tool.key] = dir_bytes(cache)

    unpackers = [t for t in tools if t.unpack_archive() is not None]
    ram = tmpfs_dir()
    for r in range(unpack_rounds):
        for tool in rotate(unpackers, r):
            archive = tool.unpack_archive()
            assert archive is not None
            places = [(out.unpack, ws.scratch(f"unpack-{tool.key}"), "unpack")]
            if ram is not None:
                places.append((out.unpack_tmpfs, ram / f"unpack-{tool.key}", "unpack (tmpfs)"))
            for samples, dest, what in places:
                cmd = unpack_command(archive, dest, ws.base_env())
                out.commands.setdefault(tool.key, {})[what] = cmd.shell()
                out.commands[tool.key][f"{what} prepare"] = shlex.join(cmd.prepare)
                samples.setdefault(tool.key, Samples()).extend(
                    timer.measure(cmd, runs=2, what=f"{what} {tool.key}")
                )
                out.unpack_entries[tool.key] = count_entries(dest)
            if ram is not None:
                shutil.rmtree(ram / f"unpack-{tool.key}", ignore_errors=True)
        say(f"unpack, round {r + 1}/{unpack_rounds}")
    if ram is not None:
        shutil.rmtree(ram, ignore_errors=True)
    return out


def unpack_command(archive: Path, dest: Path, env: dict[str, str]) -> Command:
    """`tar -xf` into an emptied `dest`. The prepare step ends with `sync`, so the writeback
    of the previous round's files and of their deletion (a `discard` mount makes deletes
    costly) is not charged to this round: on this VM's ext4 each file creation costs 0.2 to
    0.8 ms while writeback runs, which made a 2,000-file unpack take 0.3 s or 2.3 s by luck."""
    q = shlex.quote(str(dest))
    return Command(
        ("tar", "-xf", str(archive), "-C", str(dest)),
        env,
        prepare=("sh", "-c", f"rm -rf {q} && mkdir -p {q} && sync"),
    )


def tmpfs_dir() -> Path | None:
    """A fresh folder in /dev/shm when it is a writable tmpfs (None otherwise): unpacking
    there measures the archive (decompression, tar, creating files in memory) apart from
    the disk it lands on."""
    shm = Path("/dev/shm")
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    if not any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts if line.strip()):
        return None
    try:
        return Path(tempfile.mkdtemp(prefix="pack-bench-", dir=shm))
    except OSError:
        return None


def count_entries(root: Path) -> int:
    """Files, folders and links under `root` (not counting `root`)."""
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(root))
