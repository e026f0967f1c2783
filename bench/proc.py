"""The one gateway to subprocesses: run a command (failing with its stderr tail), or time one
(wall and CPU seconds of the child and everything it waited for)."""

from __future__ import annotations

import os
import resource
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Argv = Sequence[str | os.PathLike[str]]


class BenchError(Exception):
    """Something the benchmark needs failed; the message says what and how."""


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float
    stdout: str
    stderr: str = ""


def _argv(argv: Argv) -> list[str]:
    return [os.fspath(a) for a in argv]


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run(
    argv: Argv,
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    args = _argv(argv)
    try:
        proc = subprocess.run(
            args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BenchError(f"{what}: {args[0]} was not found") from exc
    if check and proc.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {proc.returncode}): {shlex.join(args)}\n"
            f"{_tail(proc.stderr or proc.stdout)}"
        )
    return proc


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    argv: Argv,
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Timed:
    """Run `argv` to completion and measure it: wall seconds from start to exit, and CPU
    seconds (user + system) of the child and the descendants it waited for. The benchmark runs
    one child at a time, so the change in this process's RUSAGE_CHILDREN is exactly that."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = run(argv, what=what, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    return Timed(wall, cpu, proc.stdout, proc.stderr)
