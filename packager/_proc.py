"""The one gateway through which pack runs subprocesses: it logs the command, captures output,
and turns a failure into a BuildError that carries the command and the tail of its stderr."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import BuildError, PackError

_TAIL_LINES = 25


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-_TAIL_LINES:])


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    error: type[PackError] = BuildError,
    hint: str = "",
    check_exit: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run `argv`, returning the completed process; on a non-zero exit raise `error` with a
    message naming `what` failed, the command and its stderr (or stdout) tail. With
    `check_exit=False` a non-zero exit is returned to the caller instead."""
    args = [os.fspath(a) for a in argv]
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=input,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise error(f"{what} failed: {args[0]} was not found ({exc.strerror})") from exc
    command = shlex.join(args)
    if proc.returncode != 0 and check_exit:
        out = proc.stderr.decode(errors="replace") or proc.stdout.decode(errors="replace")
        message = f"{what} failed (exit {proc.returncode})"
        tail = _tail(out)
        last = tail.splitlines()[-1].strip() if tail else ""
        if last:
            message += f": {last}"
        if hint:
            message += f"; {hint}"
        raise error(message, details=f"$ {command}\n{tail}")
    return proc
