"""The conformance probe against the emulator, under both primary_image_set_rules profiles."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local.command_line import UserError
from local.conformance import EXPECTED, Row, expected_by_profile, main, render


@pytest.mark.parametrize("profile", ["legacy", "strict"])
def test_the_probe_finds_the_emulators_own_profile(profile: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "local.conformance", "--endpoint", "emulator", "--profile", profile],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.rstrip().endswith(f"profiles matching every row: {profile}")
    assert completed.stdout.count("|") >= 4 * (len(EXPECTED) + 1)
    assert "NONE" not in completed.stdout


def test_a_row_no_profile_explains_is_marked() -> None:
    rows = [
        Row(
            "Patient-level update (primary)",
            expected_by_profile("Patient-level update (primary)"),
            "UPDATE_FAILED",
        )
    ]

    table = render(rows, "aws (us-east-1)")

    assert "NONE" in table and table.endswith("profiles matching every row: none")


def test_aws_needs_an_explicit_data_store_and_import_locations() -> None:
    with pytest.raises(UserError, match="--datastore-id"):
        main(["--endpoint", "aws"])
