"""Repeated measurements: hyperfine when it is installed (per-run wall times, mean CPU), else
a plain loop over proc.timed. Either way a command may have an untimed `prepare` step run
before each timed run, and samples come back as lists so callers can pool rounds."""

from __future__ import annotations

import json
import shlex
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .proc import BenchError, run, timed


@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))

    def to_json(self) -> dict[str, float | int]:
        return {
            "median": round(self.median, 5),
            "min": round(self.low, 5),
            "max": round(self.high, 5),
            "n": self.n,
        }


@dataclass
class Samples:
    """Wall seconds per run, and CPU seconds (per run, or per batch of runs with hyperfine,
    which reports only the mean)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def extend(self, other: Samples) -> None:
        self.wall += other.wall
        self.cpu += other.cpu

    def to_json(self) -> dict[str, object]:
        if not self.wall:
            return {"n": 0}
        out: dict[str, object] = {"wall": Stats.of(self.wall).to_json()}
        if self.cpu:
            out["cpu"] = Stats.of(self.cpu).to_json()
        out["wall_samples"] = [round(s, 5) for s in self.wall]
        return out


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    env: dict[str, str]
    prepare: tuple[str, ...] = ()
    cwd: Path | None = None

    def shell(self) -> str:
        return shlex.join(self.argv)


class Timer:
    def __init__(self, scratch: Path, *, use_hyperfine: bool = True) -> None:
        self.hyperfine = shutil.which("hyperfine") if use_hyperfine else None
        self.scratch = scratch

    @property
    def method(self) -> str:
        return "hyperfine" if self.hyperfine else "bench loop (proc.timed)"

    def measure(self, cmd: Command, *, runs: int, warmup: int = 0, what: str) -> Samples:
        if self.hyperfine:
            return self._hyperfine(cmd, runs, warmup, what)
        return self._loop(cmd, runs, warmup, what)

    def _hyperfine(self, cmd: Command, runs: int, warmup: int, what: str) -> Samples:
        assert self.hyperfine is not None
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.scratch, suffix=".json") as export:
            # -N: no intermediate shell, so nothing is subtracted and nothing is added.
            argv: list[str] = [self.hyperfine, "-N", "--style", "none", "--runs", str(runs)]
            argv += ["--warmup", str(warmup), "--export-json", export.name]
            if cmd.prepare:
                argv += ["--prepare", shlex.join(cmd.prepare)]
            argv += ["--", cmd.shell()]
            run(argv, what=what, env=cmd.env, cwd=cmd.cwd)
            result = json.loads(Path(export.name).read_text())["results"][0]
        if any(code != 0 for code in result.get("exit_codes", [])):
            raise BenchError(f"{what}: {cmd.shell()} exited with {result['exit_codes']}")
        return Samples(list(result["times"]), [result["user"] + result["system"]])

    def _loop(self, cmd: Command, runs: int, warmup: int, what: str) -> Samples:
        out = Samples()
        for i in range(warmup + runs):
            if cmd.prepare:
                run(cmd.prepare, what=f"{what} (prepare)", env=cmd.env, cwd=cmd.cwd)
            t = timed(cmd.argv, what=what, env=cmd.env, cwd=cmd.cwd)
            if i >= warmup:
                out.wall.append(t.wall)
                out.cpu.append(t.cpu)
        return out
