"""The one gateway through which pack runs subprocesses: it logs the command, captures output,
and turns a failure into a BuildError whose line is the tool's own explanation (a build
backend's exception, uv's "Because ..." chain) and whose details carry the command and the
tail of its output."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from .errors import BuildError, PackError

_TAIL_LINES = 25


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-_TAIL_LINES:])


# uv's diagnostics: `error: ...` / `  cause: ...` in plain output; a multiplication sign and
# `╰─▶` on a terminal.
_UV_HEAD = re.compile(r"^\s*(?:error:|\u00d7)\s*(.*)$")
_UV_CAUSE = re.compile(r"^\s*(?:cause:|Caused by:|╰─▶)\s*(.*)$")
_HINT = re.compile(r"^\s*(?:hint|help|note|warning):", re.IGNORECASE)
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)\b.*")


def _python_exception(lines: list[str]) -> str:
    """The exception line of the last Python traceback in `lines` (what a build backend
    raised), or "". uv indents a backend's output under its own error; the exception line
    has the indentation of its `Traceback` line."""
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("Traceback (most")]
    if not starts:
        return ""
    first = lines[starts[-1]]
    indent = len(first) - len(first.lstrip())
    for line in lines[starts[-1] + 1 :]:
        if len(line) - len(line.lstrip()) == indent and _EXCEPTION.match(line.strip()):
            return line.strip()
    return ""


def _uv_diagnostic(lines: list[str]) -> str:
    """uv's error, with its deepest cause: `error: Failed to build X` / `cause: Because a
    depends on b ... we can conclude that ...` (continuation lines joined)."""
    head, causes, current = "", [], None
    for line in lines:
        if m := _UV_HEAD.match(line):
            if head:
                break  # a second error: the first is the one that stopped uv
            head, current = m[1].strip(), None
        elif head and (m := _UV_CAUSE.match(line)):
            causes.append(m[1].strip())
            current = len(causes) - 1
        elif head and current is not None and line.startswith(" ") and line.strip():
            causes[current] += " " + line.strip()
        elif not line.strip() or _HINT.match(line):
            current = None
    if not head:
        return ""
    because = [c for c in causes if c.startswith("Because")]
    if because:
        return because[-1]
    return f"{head}: {causes[-1]}" if causes else head


def explain(output: str) -> str:
    """One line saying why a tool failed: a build backend's exception, else uv's error and
    its cause, else the last line that is not a hint."""
    lines = output.splitlines()
    found = _python_exception(lines) or _uv_diagnostic(lines)
    if found:
        return found
    meaningful = [line.strip() for line in lines if line.strip() and not _HINT.match(line)]
    return meaningful[-1] if meaningful else ""


class Children:
    """The subprocesses `run` starts on one thread (inside `track`), so that another thread
    can end them: `cancel` kills the one running and makes `run` refuse to start more, here
    and in every Children made on that thread (a Background started by a Background)."""

    _local = threading.local()  # .current: the Children the thread tracks with, if any

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._running: subprocess.Popen[bytes] | None = None
        self._nested: list[Children] = []
        parent = Children.current()  # made on a tracked thread: cancelled with its parent
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, nested: Children) -> None:
        with self._lock:
            self._nested.append(nested)
            if not self._cancelled:
                return
        nested.cancel()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        Children._local.current = self
        try:
            yield
        finally:
            Children._local.current = None

    @staticmethod
    def current() -> Children | None:
        found: Children | None = getattr(Children._local, "current", None)
        return found

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._running is not None:
                _kill_group(self._running)
            nested = list(self._nested)
        for child in nested:
            child.cancel()

    def start(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """`start()`'s process, tracked until `done`; a BuildError once cancelled."""
        with self._lock:
            if self._cancelled:
                raise BuildError("cancelled: another step of the build failed")
            self._running = start()
            return self._running

    def done(self) -> None:
        with self._lock:
            self._running = None


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
        proc = _run(args, cwd=cwd, env=dict(env) if env is not None else None, input=input)
    except FileNotFoundError as exc:
        raise error(f"{what} failed: {args[0]} was not found ({exc.strerror})") from exc
    command = shlex.join(args)
    if proc.returncode != 0 and check_exit:
        out = proc.stderr.decode(errors="replace") or proc.stdout.decode(errors="replace")
        message = f"{what} failed (exit {proc.returncode})"
        tail = _tail(out)
        cause = explain(out)
        if cause:
            message += f": {cause}"
        if hint:
            message += f"; {hint}"
        raise error(message, details=f"$ {command}\n{tail}")
    return proc


def _run(
    args: list[str], *, cwd: Path | None, env: dict[str, str] | None, input: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run(..., capture_output=True). On a tracked thread the child leads its own
    process group, which is killed (and the child waited for) when waiting for it fails or
    another thread cancels it (Children.cancel): nothing it started outlives it."""
    children = Children.current()
    if children is None:
        return subprocess.run(args, cwd=cwd, env=env, input=input, capture_output=True, check=False)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,  # killed with whatever it starts (a build backend)
        )

    with children.start(start) as proc:
        try:
            stdout, stderr = proc.communicate(input)
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            children.done()
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill `proc` and every process of its group (it leads one: process_group=0)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
