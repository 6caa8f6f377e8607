"""Builds the updater's Lambda asset on this machine, without Docker.

pip installs the pinned runtime requirements as manylinux aarch64 wheels for CPython 3.12 (the
function's architecture and runtime), then the `updater` package and the stage's import rules file
are copied next to them. When CDK skips bundling (context `aws:cdk:bundling-stacks` = []), the
asset is simply `lambdas/`, which keeps tests and `cdk synth` offline.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.names import BUNDLED_IMPORT_RULES_FILE

LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAMBDA_PYTHON_VERSION = "3.12"
SOURCE_IGNORE = ("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class UpdaterAssetSources:
    """What goes into the function's asset; the fingerprint covers all of it."""

    lambdas_dir: Path
    package_name: str
    requirements_file: Path
    constraints_file: Path | None = None
    import_rules_file: Path | None = None
    extra_pip_args: Sequence[str] = field(default_factory=tuple)

    @property
    def package_dir(self) -> Path:
        return self.lambdas_dir / self.package_name

    def pip_install_command(self, output_dir: str) -> list[str]:
        command = [
            sys.executable, "-m", "pip", "install",
            "--quiet", "--disable-pip-version-check",
            # Bytecode would be compiled by this interpreter, not the runtime's: useless in Lambda.
            "--no-compile",
            "--platform", LAMBDA_PLATFORM,
            "--implementation", "cp",
            "--python-version", LAMBDA_PYTHON_VERSION,
            "--only-binary=:all:",
            "--target", output_dir,
            "-r", str(self.requirements_file),
        ]  # fmt: skip
        if self.constraints_file is not None:
            command += ["-c", str(self.constraints_file)]
        return command + list(self.extra_pip_args)

    def fingerprint(self) -> str:
        """Changes whenever the code, the pinned requirements or the rules file change."""
        digest = hashlib.sha256()
        files = sorted(path for path in self.package_dir.rglob("*") if path.is_file() and _is_source(path))
        for path in files:
            digest.update(str(path.relative_to(self.package_dir)).encode())
            digest.update(path.read_bytes())
        for extra in (self.requirements_file, self.constraints_file, self.import_rules_file):
            digest.update(extra.read_bytes() if extra is not None else b"-")
        digest.update(" ".join([LAMBDA_PLATFORM, LAMBDA_PYTHON_VERSION, *self.extra_pip_args]).encode())
        return digest.hexdigest()


def _is_source(path: Path) -> bool:
    return not any(path.match(pattern) or pattern in path.parts for pattern in SOURCE_IGNORE)


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK calls `try_bundle` instead of running Docker; returning True means "done"."""

    def __init__(self, sources: UpdaterAssetSources) -> None:
        self.sources = sources

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: object) -> bool:
        subprocess.run(self.sources.pip_install_command(output_dir), check=True)  # noqa: S603 - fixed argv
        shutil.copytree(
            self.sources.package_dir,
            Path(output_dir) / self.sources.package_name,
            ignore=shutil.ignore_patterns(*SOURCE_IGNORE),
            dirs_exist_ok=True,
        )
        if self.sources.import_rules_file is not None:
            shutil.copyfile(self.sources.import_rules_file, Path(output_dir) / BUNDLED_IMPORT_RULES_FILE)
        return True


def updater_code(sources: UpdaterAssetSources) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(sources.lambdas_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=sources.fingerprint(),
        exclude=[f"**/{pattern}" for pattern in SOURCE_IGNORE],
        bundling=BundlingOptions(
            # Required by the API but never used: local bundling always succeeds or raises.
            image=lambda_.Runtime.PYTHON_3_12.bundling_image,
            local=LocalPipBundling(sources),
        ),
    )
