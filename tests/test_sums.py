"""sha256sum-format files, read by one owner (`pack_runtime.sums`) everywhere: an empty or
unrelated checksum file beside an archive is an error, never a pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pack_runtime import sums
from packager.errors import ChecksumError
from packager.pythons.asset import local_archive

HEX = "ab" * 32


def test_forms_sha256sum_writes() -> None:
    text = f"{HEX}  a.tar.gz\n{'cd' * 32} *dir/b.tar.gz\n\n"
    assert sums.parse(text, "S") == [(HEX, "a.tar.gz"), ("cd" * 32, "dir/b.tar.gz")]
    assert sums.digest_for(text, "S", "b.tar.gz") == "cd" * 32
    assert sums.digest_for(HEX.upper() + "\n", "S", "anything") == HEX


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "S is empty; expected `<64 hex digits>  x.tar.gz`"),
        ("\n  \n", "S is empty; expected `<64 hex digits>  x.tar.gz`"),
        (f"{HEX}  other.tar.gz\n", "S is the digest of 'other.tar.gz', not of 'x.tar.gz'"),
        (f"{HEX}  a\n{HEX}  b\n", "S has no line for 'x.tar.gz'"),
        ("abc  x.tar.gz\n", "S line 1 is not `<64 hex digits>  <file>`"),
    ],
)
def test_what_says_nothing_about_the_file_is_an_error(text: str, message: str) -> None:
    with pytest.raises(sums.SumsError) as exc:
        sums.digest_for(text, "S", "x.tar.gz")
    assert str(exc.value) == message


def test_a_renamed_file_may_use_the_only_line_when_asked() -> None:
    assert sums.digest_for(f"{HEX}  old.tar.gz\n", "S", "new.tar.gz", renamed_ok=True) == HEX
    with pytest.raises(sums.SumsError):
        sums.digest_for(f"{HEX}  a\n{HEX}  b\n", "S", "new.tar.gz", renamed_ok=True)


@pytest.mark.parametrize(
    ("sidecar", "content", "why"),
    [
        ("{name}.sha256", "", "is empty; expected `<64 hex digits>  {name}`"),
        ("SHA256SUMS", f"{HEX}  cpython-other.tar.gz\n", "is the digest of "
         "'cpython-other.tar.gz', not of '{name}'"),
        ("SHA256SUMS", f"{HEX}  a.tar.gz\n{HEX}  b.tar.gz\n", "has no line for '{name}'"),
    ],
)  # fmt: skip
def test_an_empty_or_unrelated_checksum_beside_python_archive_is_an_error(
    tmp_path: Path, python_archive: Path, sidecar: str, content: str, why: str
) -> None:
    archive = tmp_path / python_archive.name
    shutil.copy(python_archive, archive)
    path = tmp_path / sidecar.format(name=archive.name)
    path.write_text(content)
    with pytest.raises(ChecksumError) as exc:
        local_archive(archive)
    assert str(exc.value) == f"{path} {why.format(name=archive.name)}; fix it or delete it"
    path.unlink()
    assert local_archive(archive).filename == archive.name  # no checksum file: no claim
