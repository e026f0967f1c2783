"""The CycloneDX SBOM: valid against the 1.6 schema (cyclonedx-python-lib's strict validator),
the same as what a real built bundle has installed, identical inside the archive, beside it, from
`pack sbom` and from `self sbom`; the dependency graph follows markers and extras for the target;
PEP 770 SBOMs of distributions are referenced; the bytes depend only on the inputs."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packaging.utils import canonicalize_name

from packager.sbom import (
    Distribution,
    Interpreter,
    SbomPlan,
    dependency_graph,
    read_distributions,
    render,
)
from packager.targets import marker_environment, parse_target
from packager.uvtool import uv_bin
from tests.helpers.bundles import PACK, Built, run_app, run_pack, unpack

ENV = marker_environment(parse_target("x86_64-unknown-linux-gnu"), "3.11.7")
PY = Interpreter(
    "cpython-3.11.7+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz", "3.11.7", "ab" * 32
)


def validate(data: bytes) -> dict[str, Any]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode("utf-8"))
    assert error is None, str(error)
    doc: dict[str, Any] = json.loads(data)
    assert doc["specVersion"] == "1.6"
    return doc


@pytest.fixture(scope="module")
def unpacked(built_bundle: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(built_bundle.archive, tmp_path_factory.mktemp("sbom-unpacked"))


def _sidecar(archive: Path) -> Path:
    return archive.with_name(archive.name + ".cdx.json")


def test_built_bundle_sbom_matches_what_is_installed(
    built_bundle: Built, unpacked: Path, python_archive: Path
) -> None:
    embedded = (unpacked / ".pack/sbom.cdx.json").read_bytes()
    assert _sidecar(built_bundle.archive).read_bytes() == embedded
    doc = validate(embedded)

    app = doc["metadata"]["component"]
    assert (app["name"], app["version"], app["type"]) == ("compiled-app", "1.2.0", "application")
    assert app["purl"] == "pkg:pypi/compiled-app@1.2.0"
    assert len(app["hashes"][0]["content"]) == 64

    proc = run_app(unpacked / "bin/compiled-app", "self", "packages", "--json")
    assert proc.returncode == 0, proc.stderr
    installed = {(d["name"].lower(), d["version"]) for d in json.loads(proc.stdout)}
    libraries = [c for c in doc["components"] if c["type"] == "library"]
    assert {(c["name"].lower(), c["version"]) for c in libraries} | {
        ("compiled-app", "1.2.0")
    } == installed

    # The sha256 of the file the lock named for this target.
    lock = (built_bundle.project / "uv.lock").read_text()
    (markupsafe,) = libraries
    digest = markupsafe["hashes"][0]["content"]
    wheel = "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert f'{wheel}", hash = "sha256:{digest}"' in lock
    assert markupsafe["purl"] == "pkg:pypi/markupsafe@3.0.2"
    assert markupsafe[
        "licenses"
    ]  # from its classifiers: MarkupSafe 3.0.2 has no License-Expression

    (cpython,) = [c for c in doc["components"] if c["name"] == "cpython"]
    assert cpython["version"] == python_archive.name.split("-")[1].split("+")[0]
    assert (
        cpython["hashes"][0]["content"] == hashlib.sha256(python_archive.read_bytes()).hexdigest()
    )
    assert cpython["licenses"] == [{"expression": "PSF-2.0"}]
    assert python_archive.name in cpython["description"]

    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps[app["bom-ref"]] == [cpython["bom-ref"], markupsafe["bom-ref"]]
    assert deps[markupsafe["bom-ref"]] == []

    built_time = json.loads((unpacked / ".pack/bundle.json").read_text())["build"]["time"]
    assert doc["metadata"]["timestamp"].replace("+00:00", "Z") == built_time
    assert doc["metadata"]["tools"]["components"][0]["name"] == "pack"


def test_pack_sbom_self_sbom_and_inspect_show_it(built_bundle: Built, unpacked: Path) -> None:
    embedded = (unpacked / ".pack/sbom.cdx.json").read_bytes()
    raw = subprocess.run(
        [*PACK, "sbom", str(built_bundle.archive)], capture_output=True, check=False
    )
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == embedded
    proc = run_pack(["sbom", str(unpacked)], built_bundle.cache_dir)
    assert proc.stdout.encode() == embedded

    proc = run_app(unpacked / "bin/compiled-app", "self", "sbom")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.encode() == embedded

    proc = run_pack(["inspect", str(built_bundle.archive)], built_bundle.cache_dir)
    assert "  sbom       .pack/sbom.cdx.json, CycloneDX, 3 components (pack sbom prints it)" in (
        proc.stdout
    )
    proc = run_pack(["inspect", "--json", str(built_bundle.archive)], built_bundle.cache_dir)
    assert json.loads(proc.stdout)["sbom"] == {"path": ".pack/sbom.cdx.json", "components": 3}


def test_app_without_wheel_depends_on_its_project_dependencies(thirdparty_bundle: Built) -> None:
    proc = run_pack(["sbom", str(thirdparty_bundle.archive)], thirdparty_bundle.cache_dir)
    assert proc.returncode == 0, proc.stderr
    doc = validate(proc.stdout.encode())
    app = doc["metadata"]["component"]
    assert (app["name"], app["version"]) == ("flakes-bundle", "0.3.0")
    assert "hashes" not in app  # no wheel of its own
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert deps[app["bom-ref"]] == ["pkg:generic/cpython@3.11.7", "pkg:pypi/pyflakes@3.2.0"]
    (pyflakes,) = [c for c in doc["components"] if c["name"] == "pyflakes"]
    assert pyflakes["licenses"]


def test_sbom_without_one_and_sidecar_mismatch(
    built_bundle: Built, unpacked: Path, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(unpacked, root, symlinks=True)
    (root / ".pack/sbom.cdx.json").unlink()
    proc = run_pack(["sbom", str(root)], built_bundle.cache_dir)
    assert proc.returncode == 4
    assert proc.stderr.strip() == (
        f"error: {root} has no .pack/sbom.cdx.json; it was built by a pack without SBOM "
        "support or is damaged: rebuild it with this pack"
    )
    proc = run_app(root / "bin/compiled-app", "self", "sbom")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: {root}/.pack/sbom.cdx.json does not exist: this bundle was built by a pack "
        "without SBOM support (or the file was deleted; `self verify` tells which)"
    )

    archive = tmp_path / built_bundle.archive.name
    shutil.copy(built_bundle.archive, archive)
    shutil.copy(built_bundle.archive.with_name(archive.name + ".sha256"), tmp_path)
    sidecar = _sidecar(archive)
    sidecar.write_bytes(_sidecar(built_bundle.archive).read_bytes().replace(b"3.0.2", b"3.0.1"))
    proc = run_pack(["verify", str(archive)], built_bundle.cache_dir)
    assert proc.returncode == 4
    assert f"sbom        {archive.name}.cdx.json differs from the bundle's .pack/sbom.cdx.json" in (
        proc.stdout
    )
    assert proc.stderr.strip() == (
        f"error: {archive}: every file matches what pack built, but {archive.name}.cdx.json "
        "beside it differs from the bundle's SBOM; write the bundle's own: "
        f"`pack sbom {archive} > {archive}.cdx.json`"
    )


def _dist(name: str, *requires: str, version: str = "1.0") -> Distribution:
    return Distribution(name, version, "", None, (), tuple(requires))


def test_dependency_graph_follows_markers_and_extras() -> None:
    plan = SbomPlan(
        name="app",
        version="1.0",
        app_distribution=None,
        app_requires=("Alpha[fast]>=1", "never; sys_platform == 'win32'"),
        interpreter=PY,
        distributions=(
            _dist("alpha", "beta", "gamma; extra == 'fast'", "delta; extra == 'slow'"),
            _dist("beta", "epsilon[x]; python_version >= '3.10'", "zeta; python_version < '3'"),
            _dist("gamma"),
            _dist("delta"),
            _dist("epsilon", "eta; extra == 'x'"),
            _dist("eta"),
            _dist("zeta"),
            _dist("never"),
        ),
        environment=ENV,
        extras=(),
        epoch=0,
    )
    assert dependency_graph(plan) == {
        "": ("alpha",),
        "alpha": ("beta", "gamma"),
        "beta": ("epsilon",),
        "gamma": (),
        "delta": (),
        "epsilon": ("eta",),
        "eta": (),
        "zeta": (),
        "never": (),
    }
    doc = validate(render(plan))
    assert {c["name"] for c in doc["components"]} == {
        "cpython",
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "eta",
        "zeta",
        "never",
    }


def test_same_plan_same_bytes_other_plan_other_serial() -> None:
    plan = SbomPlan("app", "1.0", None, ("alpha",), PY, (_dist("alpha"),), ENV, (), 1700000000)
    first, again = render(plan), render(plan)
    assert first == again
    other = render(
        SbomPlan("app", "1.1", None, ("alpha",), PY, (_dist("alpha"),), ENV, (), 1700000000)
    )
    serial = json.loads(first)["serialNumber"]
    assert serial != json.loads(other)["serialNumber"]
    assert serial.startswith("urn:uuid:") and serial[9 + 14] == "5"  # name-based (SHA) UUID
    assert json.loads(first)["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"


def _wheel(path: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A real wheel (zip with METADATA, WHEEL and a RECORD of sha256 digests)."""
    info = f"{name}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": (
            f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n"
            "License-Expression: Apache-2.0 OR MIT\n"
        ).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for rel, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{rel},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    wheel = path / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def test_pep770_sboms_of_distributions_are_referenced(tmp_path: Path) -> None:
    shipped = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}\n'
    wheel = _wheel(
        tmp_path,
        "vendored_c",
        "2.0",
        {
            "vendored_c/__init__.py": b"",
            "vendored_c-2.0.dist-info/sboms/libfoo.cdx.json": shipped,
        },
    )
    root = tmp_path / "bundle"
    site = root / "venv/lib/python3.11/site-packages"
    subprocess.run(
        [
            str(uv_bin()),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--offline",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    (dist,) = read_distributions(
        root, "venv/lib/python3.11/site-packages", {canonicalize_name("vendored-c"): "cd" * 32}
    )
    assert dist.license_expression == "Apache-2.0 OR MIT"
    rel = "venv/lib/python3.11/site-packages/vendored_c-2.0.dist-info/sboms/libfoo.cdx.json"
    assert [(s.path, s.sha256) for s in dist.sboms] == [(rel, hashlib.sha256(shipped).hexdigest())]

    plan = SbomPlan("app", "1.0", None, ("vendored-c",), PY, (dist,), ENV, (), 0)
    doc = validate(render(plan))
    (component,) = [c for c in doc["components"] if c["name"] == "vendored_c"]
    assert component["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]
    assert component["hashes"] == [{"alg": "SHA-256", "content": "cd" * 32}]
    assert component["externalReferences"] == [
        {
            "comment": "SBOM shipped by the distribution (PEP 770)",
            "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(shipped).hexdigest()}],
            "type": "bom",
            "url": rel,
        }
    ]
