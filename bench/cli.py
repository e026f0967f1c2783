"""How fast pack's own command line starts: `pack --version`, `pack --help`, `pack inspect`
and `pack verify` of the sample app's archive, against the floor of the interpreter pack runs
on (`python -I -c pass`), measured interleaved in rounds like the app's start."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .timing import Command, Samples, Timer
from .workspace import Workspace

CLI_FLOOR = "python -I -c pass"


@dataclass
class CliPhase:
    #: label -> samples; CLI_FLOOR is the floor
    samples: dict[str, Samples] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)


def cli_commands(pack: Path, python: Path, archive: Path) -> dict[str, tuple[str, ...]]:
    """The commands timed: pack's console script (as a user runs it) and the floor."""
    p, a = str(pack), str(archive)
    return {
        CLI_FLOOR: (str(python), "-I", "-c", "pass"),
        "pack --version": (p, "--version"),
        "pack --help": (p, "--help"),
        "pack inspect ARCHIVE": (p, "inspect", a),
        "pack verify ARCHIVE": (p, "verify", a),
    }


def cli_phase(
    ws: Workspace,
    timer: Timer,
    archive: Path,
    *,
    rounds: int,
    runs: int,
    say: Callable[[str], None],
) -> CliPhase:
    python = Path(sys.executable)
    cmds = cli_commands(python.parent / "pack", python, archive)
    out = CliPhase()
    env = ws.base_env()
    order = list(cmds)
    for r in range(rounds):
        say(f"pack's command line, round {r + 1}/{rounds}")
        for label in order[r % len(order) :] + order[: r % len(order)]:
            cmd = Command(cmds[label], env)
            out.commands[label] = cmd.shell()
            s = timer.measure(cmd, runs=runs, warmup=1, what=label)
            out.samples.setdefault(label, Samples()).extend(s)
    return out
