"""The `.pack/files` list: every file and symlink of a bundle with its sha256 (or link target),
and every empty directory, one compact JSON object per line, sorted by path; and the rules of
what no bundle may hold whatever its list says (special mode bits, hard links, links out).
Standard library only: it runs inside bundles (`self verify`) and pack imports it to write the
list at build time and to verify archives."""

from __future__ import annotations

import json
import os
import posixpath
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .layout import FILES_LIST as FILES_LIST
from .sums import sha256_file

# A file's sha256 from its path and lstat result.
Digest = Callable[[str, os.stat_result], str]

# What json.dumps(..., ensure_ascii=False) does to a string; a bundle has thousands of entries,
# so each line is put together here rather than by dumping a dict.
_json_str: Callable[[str], str] = json.encoder.encode_basestring


class FileListError(ValueError):
    """A `.pack/files` is malformed, or a tree holds something the list cannot describe."""


@dataclass(frozen=True)
class Entry:
    """A regular file (`type` "file": sha256, size, mode "755" or "644"), a symlink
    (`type` "link": target) or an empty directory (`type` "dir"). `path` is POSIX, relative
    to the bundle root."""

    path: str
    type: str
    sha256: str = ""
    size: int = 0
    mode: str = ""
    target: str = ""

    def to_json(self) -> str:
        """One line of `.pack/files`: the same text as json.dumps(obj, sort_keys=True,
        separators=(",", ":"), ensure_ascii=False) of the entry's fields."""
        path = _json_str(self.path)
        if self.type == "link":
            return f'{{"path":{path},"target":{_json_str(self.target)},"type":"link"}}'
        if self.type in ("dir", "other"):
            return f'{{"path":{path},"type":{_json_str(self.type)}}}'
        return (
            f'{{"mode":{_json_str(self.mode)},"path":{path},"sha256":{_json_str(self.sha256)},'
            f'"size":{int(self.size)},"type":"file"}}'
        )


@dataclass
class Report:
    """What differs between a tree and its list: paths, sorted. A file with other bytes or
    another mode, and a symlink with another target (or a file that became a link, or the
    reverse) are `modified`. `unsafe`: "<path> (<why>)" for what no bundle may hold, listed
    or not (see `unsafe_reason`)."""

    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.modified or self.missing or self.unexpected or self.unsafe)


def unsafe_reason(kind: str, path: str, mode: int = 0o644, nlink: int = 1, target: str = "") -> str:
    """Why an entry (`kind` file, dir, link, hardlink or other; `mode` its permission bits)
    must not be in a bundle, or "". pack writes files 0644 or 0755, directories 0755, no hard
    links and only relative links that stay inside: anything else was added or altered, and
    `tar -xf` as root would install a setuid or world-writable file as such."""
    if kind == "hardlink" or (kind == "file" and nlink > 1):
        return "a hard link"
    if kind == "other":
        return "not a file, folder or symlink"
    if kind in ("file", "dir"):
        bits = [
            name
            for bit, name in ((0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky"))
            if mode & bit
        ]
        if bits:
            return f"mode {mode & 0o7777:04o}: {' and '.join(bits)}"
        if mode & 0o022:
            return f"mode {mode & 0o7777:04o}: writable by group or others"
    if kind == "link":
        if target.startswith("/"):
            return f"a symlink to the absolute path {target!r}"
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if resolved == ".." or resolved.startswith("../"):
            return f"a symlink out of the bundle ({target!r})"
    return ""


def mode_of(st_mode: int) -> str:
    """The normalised mode pack records: "755" when any execute bit is set, else "644"
    (what the archive writer stores, so a umask at unpack time does not count as a change)."""
    return "755" if st_mode & 0o111 else "644"


def scan_tree(
    root: Path, unsafe: list[str] | None = None, *, digest: Digest | None = None
) -> list[Entry]:
    """Describe every file, symlink and empty directory below `root` except `.pack/files`
    itself, sorted by path. Symlinks are recorded, never followed. With `unsafe`, what
    `unsafe_reason` finds is appended to it (and entries of other kinds are listed as
    "other") instead of being an error. `digest(path, stat)` gives a file's sha256 (default:
    read and hash it; the build passes one that remembers unchanged files)."""
    hash_file = digest or (lambda path, st: sha256_file(path))
    # Plain strings and os.scandir: this runs over thousands of files at every build.
    real_root = os.path.realpath(root)
    entries: list[Entry] = []
    pending = [(os.fspath(root), "")]

    def flag(rel: str, why: str) -> None:
        if why and unsafe is not None:
            unsafe.append(f"{rel} ({why})")

    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as it:
            children = list(it)
        if not children and prefix:
            entries.append(Entry(prefix[:-1], "dir"))
        for child in children:
            rel = prefix + child.name
            st = child.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(child.path)  # noqa: PTH115 (a str path: see above)
                entries.append(Entry(rel, "link", target=target))
                why = unsafe_reason("link", rel, target=target)
                if not why and not _inside(os.path.realpath(child.path), real_root):
                    why = f"a symlink out of the bundle ({target!r}, through other links)"
                flag(rel, why)
            elif stat.S_ISDIR(st.st_mode):
                flag(rel, unsafe_reason("dir", rel, st.st_mode))
                pending.append((child.path, rel + "/"))
            elif stat.S_ISREG(st.st_mode):
                if rel == FILES_LIST:
                    continue
                flag(rel, unsafe_reason("file", rel, st.st_mode, st.st_nlink))
                entries.append(
                    Entry(rel, "file", hash_file(child.path, st), st.st_size, mode_of(st.st_mode))
                )
            elif unsafe is not None:
                flag(rel, unsafe_reason("other", rel))
                entries.append(Entry(rel, "other"))
            else:
                raise FileListError(f"{child.path}: not a file, folder or symlink")
    entries.sort(key=lambda e: e.path)
    return entries


def _inside(path: str, root: str) -> bool:
    """Whether the resolved `path` is `root` or below it (both real paths)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def dumps(entries: list[Entry]) -> str:
    """The text of a `.pack/files` for `entries` (sorted here, so any order may be given)."""
    return "".join(e.to_json() + "\n" for e in sorted(entries, key=lambda e: e.path))


def write_files_list(root: Path, digest: Digest | None = None) -> None:
    """Write `root/.pack/files` describing the tree (atomically: temp file, then rename)."""
    target = Path(root) / FILES_LIST
    text = dumps(scan_tree(root, digest=digest))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        tmp.chmod(0o644)
        tmp.replace(target)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


def _field(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise FileListError(f"{where}: {key!r} is missing or not a {kind.__name__}")
    return value


def parse_line(line: str, where: str) -> Entry:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise FileListError(f"{where}: not a JSON object ({exc})") from None
    if not isinstance(obj, dict):
        raise FileListError(f"{where}: not a JSON object")
    path = _field(obj, "path", str, where)
    kind = obj.get("type")
    if kind == "link":
        return Entry(path, "link", target=_field(obj, "target", str, where))
    if kind == "file":
        digest = _field(obj, "sha256", str, where)
        size = _field(obj, "size", int, where)
        mode = _field(obj, "mode", str, where)
        if mode not in ("755", "644"):
            raise FileListError(f"{where}: mode {mode!r} is not '755' or '644'")
        return Entry(path, "file", digest, size, mode)
    if kind == "dir":
        return Entry(path, "dir")
    raise FileListError(f"{where}: type {kind!r} is not 'file', 'link' or 'dir'")


def loads(text: str, source: str = FILES_LIST) -> list[Entry]:
    """Parse the text of a `.pack/files`; errors name `source` and the line."""
    return [
        parse_line(line, f"{source} line {n}")
        # Only "\n" ends a line: str.splitlines would also split a path at U+2028 and the
        # like, which JSON leaves unescaped.
        for n, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def read_files_list(path: Path) -> list[Entry]:
    with open(path, encoding="utf-8") as f:
        return loads(f.read(), str(path))


def compare(expected: list[Entry], actual: list[Entry]) -> Report:
    """Compare a recorded list with what was found. Sizes are implied by the digest."""
    want = {e.path: e for e in expected}
    have = {e.path: e for e in actual}
    report = Report()
    for path in sorted(want.keys() | have.keys()):
        w: Entry | None = want.get(path)
        h: Entry | None = have.get(path)
        if h is None:
            report.missing.append(path)
        elif w is None:
            report.unexpected.append(path)
        elif (w.type, w.sha256, w.mode, w.target) != (h.type, h.sha256, h.mode, h.target):
            report.modified.append(path)
    return report


def verify_tree(root: Path) -> Report:
    """Check the tree at `root` against its own `.pack/files`, and for what no bundle may
    hold."""
    root = Path(root)
    unsafe: list[str] = []
    report = compare(read_files_list(root / FILES_LIST), scan_tree(root, unsafe))
    report.unsafe = sorted(unsafe)
    return report
