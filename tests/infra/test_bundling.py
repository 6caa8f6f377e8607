"""Local (Docker-free) bundling of the updater asset, driven by CDK itself."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from infra.bundling import LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, UpdaterAssetSources, updater_code
from infra.names import BUNDLED_IMPORT_RULES_FILE


def build_pure_wheel(wheelhouse: Path, name: str, version: str) -> None:
    """A minimal py3-none-any wheel, so pip can install offline from a local directory."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist_info}/RECORD,,\n"
    with zipfile.ZipFile(wheelhouse / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in {**files, f"{dist_info}/RECORD": record}.items():
            wheel.writestr(path, text)


@pytest.fixture
def sources(tmp_path: Path) -> UpdaterAssetSources:
    package = tmp_path / "lambdas" / "updater"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    build_pure_wheel(wheelhouse, "tinydep", "1.0")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("tinydep==1.0\n")
    rules = tmp_path / "rules.json"
    rules.write_text('{"version": 1, "rules": []}\n')
    return UpdaterAssetSources(
        lambdas_dir=tmp_path / "lambdas",
        package_name="updater",
        requirements_file=requirements,
        import_rules_file=rules,
        extra_pip_args=("--no-index", "--find-links", str(wheelhouse)),
    )


def test_pip_targets_the_lambda_platform_and_python(sources: UpdaterAssetSources) -> None:
    command = sources.pip_install_command("/out")

    assert command[1:4] == ["-m", "pip", "install"]
    assert command[command.index("--platform") + 1] == LAMBDA_PLATFORM == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == LAMBDA_PYTHON_VERSION == "3.12"
    assert "--only-binary=:all:" in command
    assert command[command.index("--target") + 1] == "/out"
    assert command[command.index("-r") + 1] == str(sources.requirements_file)


def test_fingerprint_follows_code_requirements_and_rules_but_not_bytecode(
    sources: UpdaterAssetSources,
) -> None:
    original = sources.fingerprint()
    (sources.package_dir / "__pycache__" / "other.cpython-311.pyc").write_bytes(b"\1")
    assert sources.fingerprint() == original

    for changed in (
        sources.package_dir / "handler.py",
        sources.requirements_file,
        sources.import_rules_file,
    ):
        assert changed is not None
        before = changed.read_text()
        changed.write_text(before + "\n")
        assert sources.fingerprint() != original, changed
        changed.write_text(before)
        assert sources.fingerprint() == original


def test_cdk_bundles_requirements_package_and_rules_without_docker(
    sources: UpdaterAssetSources, tmp_path: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    app = App(outdir=str(outdir))
    stack = Stack(app, "BundlingProbe")
    lambda_.Function(
        stack,
        "Probe",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="updater.handler.lambda_handler",
        code=updater_code(sources),
    )

    app.synth()

    (asset,) = outdir.glob("asset.*")
    assert (asset / "tinydep" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (asset / "updater" / "handler.py").is_file()
    assert not (asset / "updater" / "__pycache__").exists()
    rules = sources.import_rules_file
    assert rules is not None
    assert (asset / BUNDLED_IMPORT_RULES_FILE).read_text() == rules.read_text()
