"""bundle.json: stable bytes, a lossless round trip, and errors that name the field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pack_runtime.bundleinfo import (
    BUILD_FIELDS,
    ENTRY_POINT_FIELDS,
    FIELDS,
    LOCAL_PACKAGE_FIELDS,
    LOCK_FIELDS,
    PYTHON_FIELDS,
    BundleInfo,
)
from packager import __version__
from packager.errors import ChecksumError
from packager.manifest import SCHEMA_VERSION, BuildInfo, BundleManifest, EntryPoint, LocalPackage
from tests.helpers.synthetic import example_manifest


def test_round_trip() -> None:
    manifest = example_manifest()
    assert BundleManifest.from_json(manifest.to_json()) == manifest
    no_lock = dataclasses.replace(manifest, lock=None, self_command=None)
    assert BundleManifest.from_json(no_lock.to_json()) == no_lock
    local = dataclasses.replace(
        manifest,
        entry_points=(
            *manifest.entry_points,
            EntryPoint("ruff", "", None, "ruff", "venv/bin/ruff"),
        ),
        local_packages=(LocalPackage("lib", "0.2.0", "packages/lib", "ef" * 32),),
    )
    assert BundleManifest.from_json(local.to_json()) == local


def test_bundles_of_earlier_versions_read_without_the_new_fields() -> None:
    obj = json.loads(example_manifest().to_json())
    del obj["local_packages"]
    del obj["entry_points"][0]["executable"]
    manifest = BundleManifest.from_json(json.dumps(obj).encode())
    assert manifest.local_packages == ()
    assert manifest.entry_points[0].executable is None


def test_json_is_stable_and_complete() -> None:
    data = example_manifest().to_json()
    assert data == example_manifest().to_json()
    assert data.endswith(b"}\n")
    obj = json.loads(data)
    assert list(obj) == sorted(obj)
    assert obj["schema"] == SCHEMA_VERSION == 1
    assert obj["pack_version"] == __version__
    assert obj["build"] == {"source_date_epoch": 1700000000, "time": "2023-11-14T22:13:20Z"}
    assert obj["python"] == {
        "asset": "cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz",
        "flavor": "install_only",
        "freethreaded": False,
        "implementation": "cpython",
        "sha256": "ab" * 32,
        "tag": "20990101",
        "version": "3.11.7",
    }
    assert obj["lock"] == {"format": "pylock", "path": "pylock.toml", "sha256": "cd" * 32}
    assert obj["entry_points"] == [
        {
            "attr": "main",
            "distribution": "app",
            "executable": None,
            "module": "app.__main__",
            "name": "app",
        }
    ]
    assert obj["local_packages"] == []
    assert set(obj) == {
        "allow_unhashed", "build", "entry_points", "env", "isolated", "local_packages", "lock",
        "name", "pack_version", "prepend_path", "python", "schema", "self_command",
        "smoke_test", "strip", "target", "update_signers", "update_url", "version",
    }  # fmt: skip


def test_build_time_comes_from_the_epoch_in_utc() -> None:
    assert BuildInfo.from_epoch(0) == BuildInfo(0, "1970-01-01T00:00:00Z")
    assert BuildInfo.from_epoch(315532800).time == "1980-01-01T00:00:00Z"


def _broken(**changes: object) -> bytes:
    obj = json.loads(example_manifest().to_json())
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = obj
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[key] = value
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _broken(python__sha256=5),
            "m.json: python.sha256 must be a string, not 5; "
            "the bundle is damaged or was not built by pack",
        ),
        (
            _broken(entry_points__0__module=None),
            "m.json: entry_points[0].module must be a string, not None; "
            "the bundle is damaged or was not built by pack",
        ),
        (
            _broken(strip=["test", 3]),
            "m.json: strip[1] must be str, not 3; the bundle is damaged or was not built by pack",
        ),
        (
            _broken(env={"A": 1}),
            "m.json: env.A must be a string, not 1; the bundle is damaged or was not built by pack",
        ),
        (
            _broken(build__source_date_epoch=True),
            "m.json: build.source_date_epoch must be an integer, not True; "
            "the bundle is damaged or was not built by pack",
        ),
        (
            _broken(schema=2),
            "m.json: schema 2 is not 1, the only one this code reads; "
            "use the pack version that built the bundle",
        ),
    ],
)
def test_errors_name_the_field(data: bytes, message: str) -> None:
    with pytest.raises(ChecksumError) as err:
        BundleManifest.from_json(data, "m.json")
    assert str(err.value) == message


def test_the_dataclasses_write_exactly_the_keys_the_schema_declares() -> None:
    """pack_runtime.bundleinfo declares the schema once; what BundleManifest writes, and the
    stub's static view of it, must name the same keys at every level."""
    obj = json.loads(dataclasses.replace(example_manifest(), lock=None).to_json())
    with_lock = json.loads(example_manifest().to_json())
    local = LocalPackage("lib", "0.2.0", "packages/lib", "ef" * 32)
    with_local = json.loads(
        dataclasses.replace(example_manifest(), local_packages=(local,)).to_json()
    )

    assert set(obj) == {"schema", *FIELDS}
    assert set(with_lock["lock"]) == set(LOCK_FIELDS)
    assert set(obj["python"]) == set(PYTHON_FIELDS)
    assert set(obj["build"]) == set(BUILD_FIELDS)
    assert all(set(ep) == set(ENTRY_POINT_FIELDS) for ep in obj["entry_points"])
    assert set(with_local["local_packages"][0]) == set(LOCAL_PACKAGE_FIELDS)
    static = BundleInfo.__required_keys__ | BundleInfo.__optional_keys__
    assert static == {"schema", *FIELDS}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"local_packages": None}, "m.json: local_packages must be a list, not None"),
        ({"lock": {"path": "uv.lock"}}, "m.json: lock.format must be a string, not None"),
        ({"isolated": "yes"}, "m.json: isolated must be true or false, not 'yes'"),
        ({"entry_points": ["app"]}, "m.json: entry_points[0] must be dict, not 'app'"),
        ({"local_packages": [{}]}, "m.json: local_packages[0].name must be a string, not None"),
    ],
)
def test_every_declared_field_is_checked(change: dict[str, object], message: str) -> None:
    obj = {**json.loads(example_manifest().to_json()), **change}
    with pytest.raises(ChecksumError) as err:
        BundleManifest.from_json(json.dumps(obj).encode(), "m.json")
    assert str(err.value) == f"{message}; the bundle is damaged or was not built by pack"
