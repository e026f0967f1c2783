"""The `<app> self ...` command line inside every bundle: parses the arguments, runs one
command and prints its outcome. The only module of the stub that prints, reads the
environment the launcher set, asks questions or replaces the process."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from . import channel as channel_mod
from . import packages as packages_mod
from . import pep440
from . import remove as remove_mod
from . import sbom as sbom_mod
from . import update as update_mod
from .archive import Limits
from .bundleinfo import BundleInfo, BundleInfoError, read_bundle_info
from .errors import RefusedError, StubError
from .filelist import FileListError, verify_tree
from .layout import FILES_LIST, RUNTIME_DIR, Bundle

# Set by the launcher (templates/self_dispatch.sh) before it runs the stub.
ENV_ROOT = "PACK_BUNDLE_ROOT"
ENV_LAUNCHER = "PACK_LAUNCHER"
ENV_SELF_COMMAND = "PACK_SELF_COMMAND"
ENV_DEBUG = "PACK_DEBUG"

EXIT_DIFFERS = 1  # verify found differences; a question was answered no (or not asked)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


@dataclass(frozen=True)
class Invocation:
    """What one run of the stub knows about where it is, from the launcher's variables."""

    bundle: Bundle
    launcher: str | None  # the entry the operator typed (`app` in `app self info`)
    self_command: str
    environ: Mapping[str, str]

    def launcher_path(self) -> str:
        return str(self.bundle.launcher(self.launcher or "<app>"))

    def command_line(self, *words: str) -> str:
        """How the operator would run `self <words>` in this bundle."""
        return shlex.join([self.launcher_path(), self.self_command, *words])


class Console:
    """Where the stub's output goes and where its questions are asked: stdout for results,
    stderr for progress and errors. Tests give it string buffers."""

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        stdin: TextIO | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def note(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def flush(self) -> None:
        self.out.flush()
        self.err.flush()

    def can_ask(self) -> bool:
        return self.stdin.isatty()

    def ask(self, question: str) -> bool:
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        return self.stdin.readline().strip().lower() in ("y", "yes")


class _Terminated(BaseException):
    """SIGTERM/SIGHUP during update or remove, raised so that `finally` blocks clean up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _bundle_root(environ: Mapping[str, str]) -> Path:
    given = environ.get(ENV_ROOT)
    if given:
        return Path(given)
    # Run without the launcher (`venv/bin/python -I -S .pack/runtime ...`): this file sits in
    # <root>/.pack/runtime/pack_runtime/.
    here = Path(__file__).resolve().parent
    if (here.parent.parent.name, here.parent.name) == Path(RUNTIME_DIR).parts:
        return here.parent.parent.parent
    raise RefusedError(
        f"{ENV_ROOT} is not set and this stub is not inside a bundle; run it through the "
        "bundle's launcher: <app> self ..."
    )


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show tracebacks of errors (or PACK_DEBUG=1)",
    )


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """`40G`, `500M`, `1T` or a number of bytes."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in _UNITS and value[-1:] else ""
    number = value[: len(value) - len(unit)]
    if not number.isdigit() or int(number) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; write e.g. 40G or 500M")
    return int(number) * _UNITS[unit]


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Inspect, verify, update or remove this pack bundle.",
        epilog="Exit status: 0 ok, 1 differences or declined, 2 refused or usage error, "
        "3 network error, 4 checksum or unsafe archive, 5 new version broken, 6 disk full or "
        "read-only.",
    )
    _add_verbose(parser, default=False)
    # -v is accepted after the command too; SUPPRESS keeps the subcommand from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    _add_verbose(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser(
        "info", parents=[common], help="name, version, Python, build and entry points"
    )
    p.add_argument("--json", action="store_true", help="bundle.json plus `root`, as JSON")
    sub.add_parser("verify", parents=[common], help="check every file against .pack/files")
    p = sub.add_parser(
        "python",
        help="run the bundle's Python with ARGS (interactive without)",
        description="Run the bundle's Python interpreter (its venv) with ARGS, passed as given.",
    )
    p.add_argument("args", nargs="*", metavar="ARGS")
    sub.add_parser("python-path", parents=[common], help="print the path of the bundle's Python")
    p = sub.add_parser(
        "packages", parents=[common], help="the installed distributions and their versions"
    )
    p.add_argument("--json", action="store_true", help="a JSON list of {name, version}")
    p = sub.add_parser(
        "update",
        parents=[common],
        help="install a newer archive of this app beside this one and switch to it",
        description="Fetch SOURCE (an archive path or an http(s) URL; without it, what the "
        "bundle's update channel offers), check its sha256 (and its signature when the bundle "
        "has update signers), unpack it beside this bundle, verify and smoke-test it, then "
        "repoint the `current` symlink that leads here, if any. This version stays.",
        epilog="Exit status of --check: 0 up to date, 10 an update is available.",
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="?",
        help="path or http(s) URL of a .tar.zst/.gz/.xz (default: the update channel's latest)",
    )
    p.add_argument(
        "--sha256", metavar="HEX", help="expected digest (default: SOURCE.sha256 beside it)"
    )
    p.add_argument(
        "--signature", metavar="PATH_OR_URL", help="the archive's signature (default: SOURCE.sig)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="only compare this version with the channel's latest (exit 10: update available)",
    )
    p.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="install the channel's version even when it is older (a roll back)",
    )
    p.add_argument("--yes", action="store_true", help="switch `current` without asking")
    p.add_argument(
        "--max-size",
        metavar="SIZE",
        type=_size,
        default=None,
        help="refuse an archive that unpacks to more than SIZE (e.g. 40G; default 16G)",
    )
    sub.add_parser(
        "sbom", parents=[common], help="print the bundle's CycloneDX SBOM (.pack/sbom.cdx.json)"
    )
    p = sub.add_parser("remove", parents=[common], help="delete this bundle directory")
    p.add_argument(
        "--yes", action="store_true", help="do not ask; also remove a version `current` points at"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> int:
    env: Mapping[str, str] = os.environ if environ is None else environ
    con = console or Console()
    args = list(sys.argv[1:] if argv is None else argv)
    launcher = env.get(ENV_LAUNCHER) or None
    self_command = env.get(ENV_SELF_COMMAND) or "self"
    prog = f"{launcher} {self_command}" if launcher else f"python -I -S {RUNTIME_DIR}"
    debug = env.get(ENV_DEBUG, "") not in ("", "0")

    # `python` takes its arguments verbatim (`self python -c ...`, `self python -v`), which
    # argparse cannot promise, so it is dispatched before parsing.
    first = 0
    while first < len(args) and args[first] in ("-v", "--verbose"):
        debug = True
        first += 1
    try:
        if first < len(args) and args[first] == "python":
            inv = Invocation(Bundle(_bundle_root(env)), launcher, self_command, env)
            run_python(inv, con, args[first + 1 :])
        parser = build_parser(prog)
        try:
            ns = parser.parse_args(args)
        except SystemExit as exc:  # --help, or a usage error already printed by argparse
            return exc.code if isinstance(exc.code, int) else 2
        debug = debug or ns.verbose
        if ns.command is None:
            parser.print_usage(con.err)
            con.note(f"{prog}: a command is needed; `{prog} --help` lists them")
            return 2
        inv = Invocation(Bundle(_bundle_root(env)), launcher, self_command, env)
        return _dispatch(ns, inv, con)
    except StubError as exc:
        return _fail(con, str(exc), exc.exit_code, debug)
    except (BundleInfoError, FileListError, OSError) as exc:
        return _fail(con, str(exc), 1, debug)
    except KeyboardInterrupt:
        return _fail(con, "interrupted", EXIT_INTERRUPTED, debug)
    except _Terminated as exc:
        return _fail(con, "interrupted", 128 + exc.signum, debug)
    except Exception as exc:
        return _fail(
            con,
            f"internal error: {type(exc).__name__}: {exc} (set {ENV_DEBUG}=1 for the traceback)",
            1,
            debug,
        )


def _fail(con: Console, message: str, code: int, debug: bool) -> int:
    con.flush()
    if debug:
        traceback.print_exc(file=con.err)
    con.note(f"error: {message}")
    return code


def _dispatch(ns: argparse.Namespace, inv: Invocation, con: Console) -> int:
    command: str = ns.command
    if command == "info":
        return cmd_info(inv, con, as_json=ns.json)
    if command == "verify":
        return cmd_verify(inv, con)
    if command == "python-path":
        con.print(str(inv.bundle.venv_python))
        return 0
    if command == "packages":
        return cmd_packages(inv, con, as_json=ns.json)
    if command == "sbom":
        con.print(sbom_mod.read_sbom(inv.bundle.real_root).decode("utf-8").rstrip("\n"))
        return 0
    if command == "update":
        with _terminate_cleanly():
            return cmd_update(
                inv,
                con,
                ns.source,
                sha256=ns.sha256,
                yes=ns.yes,
                signature=ns.signature,
                check=ns.check,
                allow_downgrade=ns.allow_downgrade,
                max_size=ns.max_size,
            )
    if command == "remove":
        with _terminate_cleanly():
            return cmd_remove(inv, con, yes=ns.yes)
    raise AssertionError(command)


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception while files are being moved, so the work
    directories are removed on the way out (SIGKILL leaves them; the next update cleans)."""

    def handler(signum: int, frame: FrameType | None) -> NoReturn:
        raise _Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def python_argv(bundle: Bundle, args: Sequence[str]) -> list[str]:
    return [str(bundle.venv_python), *args]


def run_python(inv: Invocation, con: Console, args: Sequence[str]) -> NoReturn:
    python = inv.bundle.venv_python
    if not python.exists():
        raise StubError(f"{python} is missing; run `{inv.command_line('verify')}`")
    # A PYTHONHOME from the caller would point the bundled interpreter at another stdlib.
    env = {k: v for k, v in inv.environ.items() if k != "PYTHONHOME"}
    con.flush()
    os.execve(python, python_argv(inv.bundle, args), env)


def _info_rows(info: BundleInfo, root: Path) -> list[tuple[str, str]]:
    py = info["python"]
    details = (
        py.get("implementation", ""),
        f"build {py['tag']}" if py.get("tag") else "",
        py.get("flavor", ""),
        "free-threaded" if py.get("freethreaded") else "",
    )
    build = ", ".join(part for part in details if part)
    version = py.get("version", "?")
    entry_points = []
    for ep in info["entry_points"]:
        ref = ep.get("executable") or ep["module"] + (f":{ep['attr']}" if ep.get("attr") else "")
        entry_points.append(f"{ep['name']} -> {ref}")
    rows = [
        ("name", info["name"]),
        ("version", info["version"]),
        ("target", info["target"]),
        ("python", f"{version} ({build})" if build else version),
        ("pack", info["pack_version"]),
        ("built", str(info["build"].get("time", "?"))),
        ("root", str(root)),
        ("entry points", ", ".join(entry_points) or "(none)"),
    ]
    local = info.get("local_packages") or []
    if local:
        named = (f"{p['name']} {p['version']} ({p['path']})" for p in local)
        rows.append(("local packages", ", ".join(named)))
    if info.get("strip"):
        rows.append(("stripped", ", ".join(info["strip"])))
    lock = info.get("lock")
    if lock:
        rows.append(("lock", f"{lock['path']} ({lock['format']}), sha256 {lock['sha256']}"))
    if info.get("strip"):
        rows.append(("stripped", ", ".join(info["strip"])))
    if info.get("smoke_test"):
        rows.append(("smoke test", str(info.get("smoke_test"))))
    if info.get("update_url"):
        rows.append(("update url", str(info.get("update_url"))))
    signers = [line.split()[0] for line in info.get("update_signers") or [] if line.split()]
    if signers:
        rows.append(("update signers", ", ".join(signers)))
    return rows


def cmd_info(inv: Invocation, con: Console, *, as_json: bool) -> int:
    root = inv.bundle.real_root
    info = read_bundle_info(root)
    if as_json:
        # bundle.json as written by pack, plus where this copy is. `name`, `version` and
        # `root` are what `self update` reads back when it smoke-tests a new version.
        shown = dict(info)
        shown["root"] = str(root)
        con.print(json.dumps(shown, indent=2, sort_keys=True))
        return 0
    rows = _info_rows(info, root)
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        con.print(f"{key:<{width}}  {value}")
    return 0


def cmd_verify(inv: Invocation, con: Console) -> int:
    root = inv.bundle.real_root
    report = verify_tree(root)
    for label, paths in (
        ("modified", report.modified),
        ("missing", report.missing),
        ("unexpected", report.unexpected),
        ("unsafe", report.unsafe),
    ):
        for path in paths:
            con.print(f"{label:<10} {path}")
    if report.ok:
        con.print(f"ok: {root} matches {FILES_LIST}")
        return 0
    con.note(f"{root} differs from {FILES_LIST}: {update_mod.summarize(report)}")
    return EXIT_DIFFERS


def cmd_packages(inv: Invocation, con: Console, *, as_json: bool) -> int:
    site = inv.bundle.site_packages()
    if not site:
        raise StubError(f"{inv.bundle.venv / 'lib'} has no python3*/site-packages")
    dists = packages_mod.installed(site)
    if as_json:
        con.print(json.dumps([{"name": d.name, "version": d.version} for d in dists], indent=2))
        return 0
    width = max((len(d.name) for d in dists), default=0)
    for d in dists:
        con.print(f"{d.name:<{width}}  {d.version}")
    return 0


def _asker(con: Console, yes: bool) -> tuple[Callable[[str], bool], list[str]]:
    """A confirm() for library code, and a list that records why it said no."""
    declined: list[str] = []

    def confirm(question: str) -> bool:
        if yes:
            return True
        if not con.can_ask():
            declined.append("no terminal to ask on; pass --yes")
            return False
        if con.ask(question):
            return True
        declined.append("declined")
        return False

    return confirm, declined


EXIT_UPDATE_AVAILABLE = 10  # `self update --check`: a newer version is offered


def cmd_update(
    inv: Invocation,
    con: Console,
    source: str | None,
    *,
    sha256: str | None,
    yes: bool,
    signature: str | None = None,
    check: bool = False,
    allow_downgrade: bool = False,
    max_size: int | None = None,
) -> int:
    rerun = [*([source] if source else []), *(["--sha256", sha256] if sha256 else [])]
    offered_version: str | None = None
    if source is None:
        info = read_bundle_info(inv.bundle.real_root)
        name, current = info["name"], info["version"]
        if sha256 is not None:
            raise RefusedError("--sha256 needs SOURCE; the channel's latest.json gives the digest")
        latest, offer = channel_mod.offer_for(
            name,
            info["target"],
            info.get("update_url"),
            bool(info.get("update_signers")),
            inv.environ.get("SSL_CERT_FILE"),
        )
        order = pep440.compare(offer.version, current)
        con.print(f"{name}: running {current}; {latest} offers {offer.version} ({offer.built})")
        if check:
            if order > 0:
                con.print(f"update available: {current} -> {offer.version}")
                return EXIT_UPDATE_AVAILABLE
            con.print("up to date")
            return 0
        if order == 0:
            con.print(f"{name} {current} is up to date; nothing to do")
            return 0
        if order < 0 and not allow_downgrade:
            raise RefusedError(
                f"{latest} offers {offer.version}, older than the running {current}; not "
                "downgrading (pass --allow-downgrade to roll back to it)"
            )
        source, sha256 = channel_mod.archive_location(latest, offer.file), offer.sha256
        offered_version = offer.version
        rerun = ["--allow-downgrade"] if order < 0 else []
    elif check or allow_downgrade:
        flag = "--check" if check else "--allow-downgrade"
        raise RefusedError(
            f"{flag} compares with the update channel; drop SOURCE, or drop {flag} (an "
            "explicit SOURCE is installed whatever its version)"
        )
    if signature is not None:
        rerun += ["--signature", signature]
    if max_size is not None:
        rerun += ["--max-size", str(max_size)]
    confirm, declined = _asker(con, yes)
    limits = Limits() if max_size is None else Limits(max_unpacked=max_size)
    request = update_mod.Request(
        source, sha256, inv.launcher, inv.environ, signature, offered_version, limits
    )
    result = update_mod.update(inv.bundle, request, log=con.note, confirm=confirm)
    label = f"{result.name} {result.new_version}"
    if result.up_to_date:
        con.print(f"{label} is already this bundle ({result.new_root}); nothing to do")
        return 0
    old_stays = (
        f"{result.old_version} stays in {inv.bundle.real_root}; "
        f"to delete it: {inv.command_line('remove')}"
    )
    if result.switched:
        for link in result.switched:
            con.print(f"switched {link} to {label} ({result.new_root})")
        con.print(old_stays)
        return 0
    why = declined[0] if declined else "declined"
    if not result.smoke_tested:
        con.print(f"{label} is unpacked in {result.new_root} (verified, not run: {why})")
        rerun.append("--yes")
        for link in result.not_switched:
            con.print(f"{link} still points at {result.old_version} ({why})")
        then = " and switch" if result.not_switched else ""
        con.print(f"to smoke-test it{then}: {inv.command_line('update', *rerun)}")
        return EXIT_DIFFERS
    con.print(f"{label} is ready in {result.new_root} (verified and smoke-tested)")
    new = Invocation(Bundle(result.new_root), inv.launcher, inv.self_command, inv.environ)
    con.print(f"run it with: {shlex.quote(new.launcher_path())}")
    con.print(old_stays)
    return 0


def cmd_remove(inv: Invocation, con: Console, *, yes: bool) -> int:
    plan = remove_mod.plan_removal(inv.bundle)
    label = f"{plan.name} {plan.version}"
    if plan.current_links and not yes:
        link = plan.current_links[0]
        raise RefusedError(
            f"{link} points at {plan.root} ({label}); removing it would leave {link} "
            "dangling: switch it to another version first, or pass --yes"
        )
    if not yes:
        if not con.can_ask():
            raise RefusedError(f"no terminal to confirm on; pass --yes to remove {plan.root}")
        if not con.ask(f"Remove {label} in {plan.root}?"):
            con.print("not removed")
            return EXIT_DIFFERS
    remove_mod.remove(plan)
    con.print(f"removed {label} ({plan.root})")
    for link in plan.current_links:
        con.note(f"warning: {link} now points at nothing; repoint it at another version")
    return 0
