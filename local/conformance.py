"""`python -m local.conformance --endpoint emulator|aws`: one scripted scenario, expected vs observed.

The developer guide disagrees with itself on what primary image sets accept, and nobody here can
check a real account. This probe runs the same calls (local/conformance_steps.py) against the
emulator, under either `primary_image_set_rules` profile, or against a real account, and prints
one table: what each profile expects, what was observed, and which profiles match. Its output on a
real account says which profile is true (and where the emulator's other modelled guesses, such as
ConflictException for a stale version, hold).

    python -m local.conformance --endpoint emulator --profile strict
    python -m local.conformance --endpoint aws --datastore-id <32 chars> --region us-east-1 \\
        --input-s3-uri s3://bucket/probe-input/ --output-s3-uri s3://bucket/probe-output/ \\
        --role-arn arn:aws:iam::<account>:role/<HealthImaging import role>

Against AWS it needs credentials, an explicit data store, and it creates and deletes its own image
sets (from a re-identified sample: fresh Study, Series and SOP Instance UIDs). Exit status 0 when
some profile matches every row.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from local.command_line import UserError, run
from local.conformance_steps import STEPS, ScenarioState, Target
from local.conformance_targets import aws_target, emulator_target

PROFILES = ("legacy", "strict")
# Step name -> expected observation per profile (one text: the same for both).
EXPECTED: dict[str, str | tuple[str, str]] = {
    "import a pydicom sample": "isPrimary=True version=1",
    "Study-level update": "UPDATED",
    "stale latestVersion": "ConflictException",
    "write to a LOCKED image set": "ConflictException",
    "forced SOPInstanceUID change (primary)": ("UPDATED", "ValidationException"),
    "Patient-level update (primary)": ("UPDATED", "ValidationException"),
    "CopyImageSet (non-primary copy)": "COPIED isPrimary=False source=COPYING_WITH_READ_ONLY_ACCESS",
    "Patient-level update (non-primary)": "UPDATED",
    "study-wide update (includeStudyImageSets)": "UPDATED non-primary unchanged",
    "revert to version 2": "UPDATED",
    "payload over 10 KB": "ServiceQuotaExceededException",
    "burst of GetImageSet (throttling shape)": "ThrottlingException 429",
    "delete the probe's image sets": "DELETED,DELETED",
}


@dataclass(frozen=True)
class Row:
    step: str
    expected: dict[str, str]
    observed: str

    @property
    def matching(self) -> list[str]:
        return [p for p in PROFILES if self.expected[p] == self.observed]


def expected_by_profile(step: str) -> dict[str, str]:
    value = EXPECTED[step]
    return (
        dict(zip(PROFILES, value, strict=True))
        if isinstance(value, tuple)
        else dict.fromkeys(PROFILES, value)
    )


def run_scenario(target: Target) -> list[Row]:
    state = ScenarioState()
    rows = []
    for name, step in STEPS:
        try:
            observed = step(target, state)
        except Exception as error:  # a probe reports, it does not stop at the first surprise
            observed = f"error: {type(error).__name__}"
        rows.append(Row(name, expected_by_profile(name), observed))
    return rows


def render(rows: list[Row], endpoint: str) -> str:
    header = ("step", "expected (legacy)", "expected (strict)", "observed", "match")
    table = [header] + [
        (r.step, r.expected["legacy"], r.expected["strict"], r.observed, ",".join(r.matching) or "NONE")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in table
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    consistent = [p for p in PROFILES if all(p in r.matching for r in rows)]
    lines.append(f"\nendpoint: {endpoint}; profiles matching every row: {', '.join(consistent) or 'none'}")
    return "\n".join(lines)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", choices=("emulator", "aws"), required=True)
    parser.add_argument(
        "--profile", choices=PROFILES, default="legacy", help="the emulator's primary_image_set_rules"
    )
    parser.add_argument("--datastore-id", help="aws: the data store the probe may create image sets in")
    parser.add_argument("--input-s3-uri", help="aws: s3:// prefix the probe uploads its sample to")
    parser.add_argument("--output-s3-uri", help="aws: s3:// prefix for the import job's output")
    parser.add_argument("--role-arn", help="aws: the import job's data access role")
    parser.add_argument("--region", default="us-east-1")
    return parser.parse_args(argv)


@contextlib.contextmanager
def _target(arguments: argparse.Namespace) -> Iterator[Target]:
    if arguments.endpoint == "emulator":
        with emulator_target(arguments.profile) as target:
            yield target
        return
    needed = ("datastore_id", "input_s3_uri", "output_s3_uri", "role_arn")
    missing = [f"--{n.replace('_', '-')}" for n in needed if not getattr(arguments, n)]
    if missing:
        raise UserError(f"--endpoint aws needs {', '.join(missing)}")
    with aws_target(
        arguments.datastore_id,
        arguments.input_s3_uri,
        arguments.output_s3_uri,
        arguments.role_arn,
        arguments.region,
    ) as target:
        yield target


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    with _target(arguments) as target:
        rows = run_scenario(target)
    label = (
        f"emulator ({arguments.profile})" if arguments.endpoint == "emulator" else f"aws ({arguments.region})"
    )
    print(render(rows, label), flush=True)
    return 0 if any(all(p in r.matching for r in rows) for p in PROFILES) else 1


if __name__ == "__main__":
    sys.exit(run(main))
