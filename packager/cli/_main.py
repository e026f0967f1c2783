"""The typer app of `pack`: its root options, the command modules it loads, and the one
place where PackError becomes one line on stderr and an exit code."""

from __future__ import annotations

import importlib
import re
import shutil
import signal
import threading
from collections.abc import Sequence
from types import FrameType

import typer

from .. import __version__
from ..errors import PackError, disk_error
from ._app import app, state

# Command modules register themselves on `app` when imported, in this order (the order of
# `pack --help`). Only the invoked command's module is imported: `pack inspect` need not load
# the build pipeline, the interpreter catalog and the HTTP client.
COMMANDS = ("build", "cache", "fetch", "run", "inspect", "verify", "python", "sbom")


def load_commands(args: Sequence[str]) -> None:
    """Import the module of the command `args` name (root options take no values, so it is
    the first word without a leading dash), or every command module when there is none or
    it is unknown (`pack`, `pack --help`, a typo: typer lists them all)."""
    name = next((a for a in args if not a.startswith("-")), None)
    for module in [name] if name in COMMANDS else COMMANDS:
        importlib.import_module(f"{__package__}.{module}")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="More output; tracebacks on errors."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and the final result."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print pack's version."
    ),
) -> None:
    """Ship a Python application as one relocatable archive."""
    state.verbosity = -1 if quiet else verbose


def _first_copy_error(exc: shutil.Error) -> OSError:
    """shutil.copytree reports every failed file in one exception; the first says enough."""
    _src, dst, why = exc.args[0][0]
    found = re.match(r"\[Errno (\d+)\] ([^:]*)", str(why))
    return OSError(int(found[1]), found[2], dst) if found else OSError(None, str(why), dst)


class Terminated(BaseException):
    """SIGTERM (a CI timeout, `kill`, a service manager), raised in the main thread so that
    a build stops what it runs beside it (whose subprocesses lead their own process groups,
    so a signal to pack's group does not reach them) and removes its partial output, as
    after Ctrl-C. A BaseException, like KeyboardInterrupt, so no `except Exception` eats it;
    not a KeyboardInterrupt, which the CLI framework turns into a plain abort."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: list[str]) -> int:
    """Run the command line `argv` (without the program name); returns the exit status."""
    load_commands(argv)
    if threading.current_thread() is not threading.main_thread():
        return _run(argv)  # signal handlers can only be set from the main thread
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str]) -> int:
    try:
        # A command's `typer.Exit(code)` comes back as the return value here (`pack run`).
        status = app(args=argv, standalone_mode=False)
    except PackError as exc:
        if state.verbosity > 0:
            import traceback

            traceback.print_exc()
        message = str(exc).replace("\n", " ")
        if exc.details and state.verbosity > 0:
            message += "\n" + exc.details
        elif exc.details:
            message += " (-v shows the full output)"
        state.console.print_error(message)
        return exc.exit_code
    except OSError as exc:
        # A write refused by the disk anywhere (cache marker, staging, a lock file): one line
        # with its own exit code, not a traceback. Other I/O errors too, traceback with -v.
        if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
            exc = _first_copy_error(exc)
        where = str(exc.filename) if exc.filename else "a file"
        error = disk_error(exc, f"writing {where}") or PackError(f"{where}: {exc.strerror or exc}")
        if state.verbosity > 0:
            import traceback

            traceback.print_exc()
        state.console.print_error(str(error))
        return error.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        state.console.print_error("aborted")
        return 130
    except KeyboardInterrupt:
        state.console.print_error("interrupted")
        return 130
    except Terminated:
        state.console.print_error("terminated (SIGTERM)")
        return 128 + signal.SIGTERM
    except Exception as exc:
        # Usage errors come from the click that typer bundles; recognise them by shape.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        raise
    return status if isinstance(status, int) else 0
