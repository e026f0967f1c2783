"""`self update`: fetch a newer archive of the same app, check its sha256, unpack it beside the
running bundle, verify it against its file list, ask, then smoke-run it, move it into place and
repoint the `current` symlink. Nothing of the new version runs before the operator said yes, and
until the final rename of that symlink nothing the running version depends on is touched."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import parentdir
from .archive import Limits, safe_extract
from .bundleinfo import BundleInfo, BundleInfoError, read_bundle_info
from .errors import DISK_ERRNOS, BrokenBundleError, DiskError, RefusedError, StubError
from .fetch import check_digest_syntax, fetch, is_plain_http
from .filelist import FileListError, Report, verify_tree
from .layout import FILES_LIST, Bundle
from .signatures import check_update_signature

SMOKE_TIMEOUT = 120.0

Log = Callable[[str], None]
Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class Request:
    source: str  # an archive path or an http(s) URL
    sha256: str | None = None  # None: read `<source>.sha256`
    launcher: str | None = None  # the entry the operator ran; smoke-run in the new version
    environ: Mapping[str, str] = field(default_factory=dict)  # for subprocesses (PATH)
    signature: str | None = None  # None: `<source>.sig`, needed when the bundle has signers
    version: str | None = None  # the version a channel offered: the archive must hold it
    limits: Limits = field(default_factory=Limits)  # bounds on unpacking the archive


@dataclass(frozen=True)
class UpdateResult:
    name: str
    old_version: str
    new_version: str
    new_root: Path
    switched: tuple[Path, ...] = ()  # `current` links now pointing at new_root
    not_switched: tuple[Path, ...] = ()  # `current` links left alone: the switch was declined
    up_to_date: bool = False  # the archive holds the running version: nothing was done
    reused: bool = False  # new_root already held this version, intact, from an earlier run
    smoke_tested: bool = True  # False: the operator declined, so nothing of it was run


def summarize(report: Report) -> str:
    parts = []
    for label, paths in (
        ("modified", report.modified),
        ("missing", report.missing),
        ("unexpected", report.unexpected),
        ("unsafe", report.unsafe),
    ):
        if paths:
            parts.append(f"{len(paths)} {label}, e.g. {paths[0]}")
    return "; ".join(parts)


def _read_info(root: Path, what: str) -> BundleInfo:
    try:
        return read_bundle_info(root)
    except BundleInfoError as exc:
        raise RefusedError(f"{what}: {exc}") from exc


def _verify(bundle: Bundle) -> Report:
    try:
        return verify_tree(bundle.root)
    except (FileListError, OSError) as exc:
        raise BrokenBundleError(f"{bundle.root}: cannot verify it ({exc})") from exc


def update(bundle: Bundle, request: Request, *, log: Log, confirm: Confirm) -> UpdateResult:
    """Update the app of `bundle` as `request` says; `log` receives progress and `confirm`
    is asked before anything of the new version runs (and a `current` symlink switched)."""
    if request.sha256 is not None:
        check_digest_syntax(request.sha256)
    info = _read_info(bundle.root, "the running bundle")
    check_channel(request, signed=bool(info.get("update_signers")))
    name = info["name"]
    parent = bundle.real_root.parent
    with parentdir.locked(parent):
        for stale in parentdir.remove_stale(parent, name):
            log(f"removed {stale}, left by an interrupted update")
        staging = parent / parentdir.work_dir_name(parentdir.STAGING_PREFIX, name)
        try:
            staging.mkdir()
        except OSError as exc:
            kind = DiskError if exc.errno in DISK_ERRNOS else StubError
            raise kind(
                f"cannot write in {parent} ({exc.strerror}); the new version is unpacked "
                "beside the running one, so update needs write access there"
            ) from exc
        try:
            return _update_locked(bundle, info, request, staging, log, confirm)
        finally:
            parentdir.remove_tree(staging)


def _fetch_verified(request: Request, staging: Path, signers: list[str], log: Log) -> Path:
    """The one step that decides whether the downloaded bytes are trusted: nothing is unpacked
    before it returns. The digest must come from a channel an attacker on the download path
    cannot rewrite: https for the `.sha256` beside the archive, or `--sha256` given by the
    operator. A bundle with update signers also needs the archive's signature by one of them
    (then the signature is the trust, and plain http will do)."""
    check_channel(request, signed=bool(signers))
    (staging / "download").mkdir()
    cafile = request.environ.get("SSL_CERT_FILE")
    archive = fetch(request.source, staging / "download", request.sha256, cafile)
    if signers:
        (staging / "signature").mkdir()
        signer = check_update_signature(
            request.source,
            archive,
            request.signature,
            signers,
            staging / "signature",
            request.environ,
        )
        log(f"signed by {signer}, an update signer of this bundle")
    elif request.signature is not None:
        raise RefusedError(
            "--signature was given, but this bundle has no update signers to check it "
            "against; build it with update-signers in [tool.pack]"
        )
    return archive


def check_channel(request: Request, *, signed: bool = False) -> None:
    """Refuse a source whose digest an attacker on the path could rewrite with the archive."""
    if is_plain_http(request.source) and request.sha256 is None and not signed:
        raise RefusedError(
            f"{request.source}: plain http can be altered on the way, and so can the .sha256 "
            "beside it; use an https URL, or pass --sha256 HEX with the digest published "
            "elsewhere"
        )


def destination(parent: Path, real: Path, old_version: str, top: Path, info: BundleInfo) -> Path:
    """Where the new version goes: a direct child of `parent`, named as the running bundle is
    (/opt/app/1.4.2 -> /opt/app/1.5.0; /opt/app-1.4.2, an archive untarred in place, ->
    /opt/app-1.5.0, the archive's top folder, which must then be `<name>-<version>`)."""
    name, version = info["name"], info["version"]
    if real.name != old_version and top.name != f"{name}-{version}":
        raise RefusedError(
            f"the archive's top folder is {top.name!r}, not {name}-{version}; refusing to "
            f"install it in {parent} under another name"
        )
    dest = parent / (version if real.name == old_version else top.name)
    if dest.parent != parent or dest.name in ("", ".", ".."):
        raise RefusedError(
            f"{dest} is not a folder directly in {parent}; refusing to install there"
        )
    return dest


def _update_locked(
    bundle: Bundle,
    info: BundleInfo,
    request: Request,
    staging: Path,
    log: Log,
    confirm: Confirm,
) -> UpdateResult:
    name, old_version = info["name"], info["version"]
    source = request.source
    real = bundle.real_root
    parent = real.parent

    log(f"fetching {source}")
    archive = _fetch_verified(request, staging, info.get("update_signers") or [], log)
    log("sha256 matches; unpacking")
    (staging / "tree").mkdir()
    top = safe_extract(archive, staging / "tree", request.environ, request.limits)
    archive.unlink()

    candidate = Bundle(top)
    missing = candidate.missing_markers()
    if missing:
        raise RefusedError(f"{source}: not a pack bundle ({top.name}/{missing[0]} is missing)")
    new_info = _read_info(top, source)
    new_version = new_info["version"]
    if request.version is not None and new_version != request.version:
        raise RefusedError(
            f"{source} holds {new_info['name']} {new_version}, but the channel offered "
            f"{request.version}; the channel is inconsistent or replays an old archive"
        )
    if info.get("update_signers") and not new_info.get("update_signers"):
        log(f"warning: {new_version} has no update signers: its own updates need no signature")
    if new_info["name"] != name:
        raise RefusedError(
            f"{source} holds {new_info['name']} {new_version}, not {name}; "
            "refusing to replace one app with another"
        )
    if new_info["target"] != info["target"]:
        raise RefusedError(
            f"{source} is built for {new_info['target']}, but this bundle runs on "
            f"{info['target']}; use the archive for {info['target']}"
        )
    if new_version == old_version:
        return UpdateResult(name, old_version, new_version, real, up_to_date=True)

    log(f"verifying {name} {new_version}")
    report = _verify(candidate)
    if not report.ok:
        raise BrokenBundleError(
            f"{source}: the unpacked bundle does not match its own {FILES_LIST} "
            f"({summarize(report)}); the archive was built wrong or altered"
        )

    dest = destination(parent, real, old_version, top, new_info)
    reused = dest.exists() or dest.is_symlink()
    if reused:
        _check_reusable(Bundle(dest), name, new_version)
        log(f"{dest} already holds {name} {new_version}, intact; using it")
        candidate = Bundle(dest)

    links = bundle.current_links()
    question = (
        f"Switch {', '.join(map(str, links))} from {old_version} to {new_version}?"
        if links
        else f"Install {name} {new_version} in {dest} (its smoke test runs it)?"
    )
    # Asked before the smoke test: that runs code of the new version.
    accepted = confirm(question)
    if accepted:
        log(f"smoke-testing {name} {new_version}")
        smoke_test(candidate, new_info, request.launcher, request.environ)
    if not reused:
        try:
            top.rename(dest)
        except OSError as exc:
            raise StubError(f"cannot move the new version to {dest}: {exc.strerror}") from exc

    new_root = Bundle(dest).real_root
    if not accepted:
        return UpdateResult(
            name,
            old_version,
            new_version,
            new_root,
            not_switched=links,
            reused=reused,
            smoke_tested=False,
        )
    for link in links:
        parentdir.repoint(link, new_root)
    return UpdateResult(name, old_version, new_version, new_root, switched=links, reused=reused)


def _check_reusable(existing: Bundle, name: str, version: str) -> None:
    """An earlier update may have been stopped after moving this version into place and
    before switching; reuse that copy only when it is exactly what we would put there."""
    refuse = RefusedError(
        f"{existing.root} already exists and is not an intact {name} {version}; move it "
        "away or remove it, then run the update again"
    )
    if existing.root.is_symlink() or existing.missing_markers():
        raise refuse
    try:
        info = read_bundle_info(existing.root)
    except BundleInfoError as exc:
        raise refuse from exc
    if (info["name"], info["version"]) != (name, version):
        raise refuse
    try:
        intact = verify_tree(existing.root).ok
    except (FileListError, OSError) as exc:
        raise refuse from exc
    if not intact:
        raise refuse


def smoke_command(candidate: Bundle, info: BundleInfo, launcher: str | None) -> list[str]:
    """`bin/<entry> <self> info --json` in the new version, so that its launcher, its
    interpreter and its stub are all exercised; the stub directly when the new version has
    no self command."""
    self_command = info.get("self_command")
    entries = [ep["name"] for ep in info["entry_points"]]
    if self_command and entries:
        entry = launcher if launcher in entries else entries[0]
        return [str(candidate.launcher(entry)), self_command, "info", "--json"]
    return [str(candidate.venv_python), "-I", "-S", str(candidate.runtime_dir), "info", "--json"]


def smoke_test(
    candidate: Bundle, info: BundleInfo, launcher: str | None, environ: Mapping[str, str]
) -> None:
    argv = smoke_command(candidate, info, launcher)
    # The variables our own launcher set describe the running bundle, not the new one.
    env = {k: v for k, v in environ.items() if not k.startswith("PACK_")}
    env["PACK_BUNDLE_ROOT"] = str(candidate.real_root)
    what = f"smoke test of {info['name']} {info['version']} ({' '.join(argv)})"
    try:
        proc = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SMOKE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokenBundleError(f"{what} did not finish in {SMOKE_TIMEOUT:.0f}s") from exc
    except OSError as exc:
        raise BrokenBundleError(f"{what} could not start: {exc}") from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BrokenBundleError(
            f"{what} failed (exit {proc.returncode})" + (f": {lines[-1]}" if lines else "")
        )
    try:
        shown = json.loads(proc.stdout)
    except ValueError as exc:
        raise BrokenBundleError(f"{what} printed no JSON ({exc})") from exc
    expected = {"name": info["name"], "version": info["version"], "root": env["PACK_BUNDLE_ROOT"]}
    got = {k: shown.get(k) if isinstance(shown, dict) else None for k in expected}
    if got != expected:
        raise BrokenBundleError(f"{what} reported {got}, expected {expected}")
