"""[tool.pack] read from pyproject.toml: tables pack would silently ignore, and type errors in
plain English."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.config import load_config
from packager.errors import ConfigError

BASE = '[project]\nname = "app"\nversion = "1.0"\n'


def _load(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(BASE + text)
    load_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("[tool.pakc]\nlock = 'x'\n", "[tool.pakc]"),
        ("[tool.packs]\n", "[tool.packs]"),
        ("[tool.Pack]\n", "[tool.Pack]"),
        ("[tool.pak]\n", "[tool.pak]"),
    ],
)
def test_a_tool_table_named_close_to_pack_is_an_error(
    tmp_path: Path, text: str, table: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert str(err.value) == (
        f"{tmp_path / 'pyproject.toml'}: {table} is not read by pack (did you mean "
        "[tool.pack]?); rename the table"
    )


@pytest.mark.parametrize("name", ["tool-pack", "tool_pack", '"tool.pack"', "pack"])
def test_a_top_level_pack_table_is_an_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"[{name}]\nlock = 'x'\n")
    assert str(err.value) == (
        f"{tmp_path / 'pyproject.toml'}: top-level table [{name.strip(chr(34))}] is not read by "
        "pack (did you mean [tool.pack]?); rename the table"
    )


def test_other_tools_tables_are_left_alone(tmp_path: Path) -> None:
    _load(
        tmp_path,
        "[tool.black]\n[tool.back]\n[tool.hatch]\n[tool.pdm]\n[tool.pex]\n[tool.packer]\n"
        "[tool.pack]\n",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'compression-level = "9"',
            "[tool.pack] compression-level must be an integer, got str '9'",
        ),
        ("isolated = 1", "[tool.pack] isolated must be a boolean, got int 1"),
        ("strip = 'test'", "[tool.pack] strip must be a list of strings, got str 'test'"),
    ],
)
def test_type_errors_read_as_english(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"[tool.pack]\n{text}\n")
    assert str(err.value) == f"{tmp_path / 'pyproject.toml'}: {message}"


def test_a_colon_in_prepend_path_is_refused_by_the_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\n[tool.pack]\nprepend-path = ["a:b"]\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.pack] prepend-path: 'a:b' has a ':', which PATH "
        "cannot hold in a directory name; rename the directory"
    )


def test_an_unknown_format_is_blamed_on_where_it_came_from(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "1"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path, {"format": "zip"})
    assert str(exc.value) == (
        "--format: unknown format 'zip'; choose one of tar.zst, tar.gz, tar.xz, dir"
    )
    pyproject.write_text('[project]\nname = "x"\nversion = "1"\n[tool.pack]\nformat = "zip"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert str(exc.value).startswith(f"{pyproject}: [tool.pack] format: unknown format 'zip'")


@pytest.mark.parametrize(
    ("text", "overrides", "strip"),
    [
        ("", {}, ("test",)),  # CPython's test suites out unless asked for
        ("[tool.pack]\nstrip = []\n", {}, ()),
        ("[tool.pack]\nstrip = ['none']\n", {}, ()),
        ("[tool.pack]\nstrip = ['tkinter']\n", {}, ("tkinter",)),  # replaces the default
        ("[tool.pack]\nstrip = ['slim']\n", {"strip": ["none"]}, ()),  # --strip none
        ("[tool.pack]\nstrip = []\n", {"strip": ["test", "none"]}, ("test",)),
    ],
)
def test_strip_defaults_to_the_test_suites_and_none_keeps_everything(
    tmp_path: Path, text: str, overrides: dict[str, object], strip: tuple[str, ...]
) -> None:
    (tmp_path / "pyproject.toml").write_text(BASE + text)
    assert load_config(tmp_path, overrides).strip == strip
