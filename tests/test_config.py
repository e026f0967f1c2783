"""[tool.pack] and command-line overrides: errors name where the bad value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from packager.config import load_config
from packager.errors import ConfigError


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
