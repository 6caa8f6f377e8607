"""The AWS CLI against the emulator: create a data store, import pydicom's samples, then the seed
document's seven update-image-set-metadata examples with the answers the seed shows.

The CLI here is v1, which sends blob arguments as given: the seed's `--cli-binary-format
raw-in-base64-out` (a v2 option v1 rejects) is left out and the raw JSON passed as is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.healthimaging import BehaviourProfile, EmulatorServer
from local.moto_stack import MotoServer
from tests.local.healthimaging.dicom_files import write_series_copies

AWS_CLI = Path(sys.executable).parent / "aws"
ROLE_ARN = "arn:aws:iam::123456789012:role/ImportRole"
BUCKET = "cli-seed-dicom"


@dataclass(frozen=True)
class CliImageSet:
    image_set_id: str
    series_uid: str
    instance_uid: str


@dataclass
class CliSession:
    emulator: EmulatorServer
    work_dir: Path
    datastore_id: str = ""

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_CONFIG_FILE": str(self.work_dir / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work_dir / "no-credentials"),
        }

    def run(self, *arguments: str, endpoint_flag: bool = True) -> dict[str, Any]:
        command = [str(AWS_CLI), "medical-imaging", *arguments, "--output", "json"]
        if endpoint_flag:
            command += ["--endpoint-url", self.emulator.endpoint_url]
        completed = subprocess.run(
            command, env=self.environment(), capture_output=True, text=True, timeout=60, check=False
        )
        assert completed.returncode == 0, completed.stderr
        result: dict[str, Any] = json.loads(completed.stdout) if completed.stdout.strip() else {}
        return result

    def update(
        self, image_set_id: str, latest: str, updates: dict[str, Any], force: bool = False
    ) -> dict[str, Any]:
        updates_file = self.work_dir / "metadata-updates.json"
        updates_file.write_text(json.dumps(updates))
        return self.run(
            "update-image-set-metadata", "--datastore-id", self.datastore_id, "--image-set-id", image_set_id,
            "--latest-version-id", latest,
            *(["--force"] if force else []), "--update-image-set-metadata-updates", f"file://{updates_file}",
        )  # fmt: skip

    def wait_until_active(self, image_set_id: str) -> str:
        service = self.emulator.service
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            latest = service.version_history(self.datastore_id, image_set_id)[-1]
            if latest.state == "ACTIVE":
                return latest.workflow_status
            time.sleep(0.02)
        raise AssertionError("update did not settle")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Iterator[CliSession]:
    """The CLI reads any `file://` argument as a parameter file, so the import goes through S3 (moto)."""
    work_dir = tmp_path_factory.mktemp("cli")
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in write_series_copies(work_dir / "dicom", 6, study_description="CHEST"):
        s3.put_object(Bucket=BUCKET, Key=f"input/{path.name}", Body=path.read_bytes())
    with EmulatorServer(
        profile=BehaviourProfile.fast(), s3_endpoint_url=moto_server.endpoint_url
    ) as emulator:
        session = CliSession(emulator, work_dir)
        session.datastore_id = session.run("create-datastore", "--datastore-name", "cli-seed")["datastoreId"]
        yield session


@pytest.fixture(scope="module")
def image_sets(cli: CliSession) -> list[CliImageSet]:
    job = cli.run(
        "start-dicom-import-job", "--datastore-id", cli.datastore_id, "--data-access-role-arn", ROLE_ARN,
        "--input-s3-uri", f"s3://{BUCKET}/input/", "--output-s3-uri", f"s3://{BUCKET}/output/",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    status = job["jobStatus"]
    while status != "COMPLETED" and time.monotonic() < deadline:
        time.sleep(0.2)
        properties = cli.run(
            "get-dicom-import-job", "--datastore-id", cli.datastore_id, "--job-id", job["jobId"]
        )
        status = properties["jobProperties"]["jobStatus"]
    assert status == "COMPLETED"
    found = cli.run("search-image-sets", "--datastore-id", cli.datastore_id)["imageSetsMetadataSummaries"]
    result = []
    for summary in sorted(found, key=lambda s: s["imageSetId"]):
        series_map = cli.emulator.service.current_metadata(cli.datastore_id, summary["imageSetId"])["Study"][
            "Series"
        ]
        [(series_uid, series)] = series_map.items()
        [instance_uid] = series["Instances"]
        result.append(CliImageSet(summary["imageSetId"], series_uid, instance_uid))
    assert len(result) == 6
    return result


def assert_seed_answer(response: dict[str, Any], image_set_id: str, version: str) -> None:
    assert response["latestVersionId"] == version
    assert (response["imageSetState"], response["imageSetWorkflowStatus"]) == ("LOCKED", "UPDATING")
    assert response["imageSetId"] == image_set_id
    assert isinstance(response["createdAt"], float | int) or "T" in str(response["createdAt"])


def instance_updates(
    image_set: CliImageSet, node: dict[str, Any], member: str = "updatableAttributes"
) -> dict[str, Any]:
    document = {
        "SchemaVersion": 1.1,
        "Study": {"Series": {image_set.series_uid: {"Instances": {image_set.instance_uid: node}}}},
    }
    return {"DICOMUpdates": {member: json.dumps(document)}}


def test_example_1_update_patient_name_then_example_4_revert(
    cli: CliSession, image_sets: list[CliImageSet]
) -> None:
    target = image_sets[0].image_set_id
    rename = {
        "DICOMUpdates": {
            "updatableAttributes": '{"SchemaVersion":1.1,"Patient":{"DICOM":{"PatientName":"MX^MX"}}}'
        }
    }
    original = cli.emulator.service.current_metadata(cli.datastore_id, target)

    assert_seed_answer(cli.update(target, "1", rename), target, "2")
    assert cli.wait_until_active(target) == "UPDATED"
    assert (
        cli.emulator.service.current_metadata(cli.datastore_id, target)["Patient"]["DICOM"]["PatientName"]
        == "MX^MX"
    )
    cli.update(
        target,
        "2",
        {
            "DICOMUpdates": {
                "updatableAttributes": '{"SchemaVersion":1.1,"Study":{"DICOM":{"StudyDescription":"HEAD"}}}'
            }
        },
    )
    cli.wait_until_active(target)

    assert_seed_answer(cli.update(target, "3", {"revertToVersionId": "1"}), target, "4")
    assert cli.wait_until_active(target) == "UPDATED"
    assert cli.emulator.service.current_metadata(cli.datastore_id, target) == original
    versions = cli.run(
        "list-image-set-versions", "--datastore-id", cli.datastore_id, "--image-set-id", target
    )
    assert [v["versionId"] for v in versions["imageSetPropertiesList"]] == ["4", "3", "2", "1"]


def test_example_2_remove_an_attribute(cli: CliSession, image_sets: list[CliImageSet]) -> None:
    target = image_sets[1].image_set_id
    remove = {
        "DICOMUpdates": {
            "removableAttributes": '{"SchemaVersion":1.1,"Study":{"DICOM":{"StudyDescription":"CHEST"}}}'
        }
    }

    assert_seed_answer(cli.update(target, "1", remove), target, "2")
    assert cli.wait_until_active(target) == "UPDATED"
    assert (
        "StudyDescription"
        not in cli.emulator.service.current_metadata(cli.datastore_id, target)["Study"]["DICOM"]
    )


def test_example_3_remove_an_instance(cli: CliSession, image_sets: list[CliImageSet]) -> None:
    image_set = image_sets[2]

    response = cli.update(image_set.image_set_id, "1", instance_updates(image_set, {}, "removableAttributes"))

    assert_seed_answer(response, image_set.image_set_id, "2")
    assert cli.wait_until_active(image_set.image_set_id) == "UPDATED"
    series = cli.emulator.service.current_metadata(cli.datastore_id, image_set.image_set_id)["Study"][
        "Series"
    ]
    assert series[image_set.series_uid]["Instances"] == {}


def test_example_5_add_a_private_element_with_force(cli: CliSession, image_sets: list[CliImageSet]) -> None:
    image_set = image_sets[3]
    node = {"DICOM": {"001910F9": "97"}, "DICOMVRs": {"001910F9": "DS"}}

    response = cli.update(image_set.image_set_id, "1", instance_updates(image_set, node), force=True)

    assert_seed_answer(response, image_set.image_set_id, "2")
    assert cli.wait_until_active(image_set.image_set_id) == "UPDATED"
    shown = cli.run(
        "get-image-set", "--datastore-id", cli.datastore_id, "--image-set-id", image_set.image_set_id
    )
    assert (shown["versionId"], shown["imageSetState"], shown["overrides"]) == (
        "2",
        "ACTIVE",
        {"forced": True},
    )


def test_example_6_update_a_private_element_with_force(
    cli: CliSession, image_sets: list[CliImageSet]
) -> None:
    image_set = image_sets[4]
    node = {"DICOM": {"00091001": "GE_GENESIS_DD"}}

    response = cli.update(image_set.image_set_id, "1", instance_updates(image_set, node), force=True)

    assert_seed_answer(response, image_set.image_set_id, "2")
    assert cli.wait_until_active(image_set.image_set_id) == "UPDATED"
    document = cli.emulator.service.current_metadata(cli.datastore_id, image_set.image_set_id)
    assert (
        document["Study"]["Series"][image_set.series_uid]["Instances"][image_set.instance_uid]["DICOM"][
            "00091001"
        ]
        == "GE_GENESIS_DD"
    )


def test_example_7_update_sop_instance_uid_with_force(cli: CliSession, image_sets: list[CliImageSet]) -> None:
    image_set = image_sets[5]
    new_uid = f"{image_set.instance_uid}.9"

    response = cli.update(
        image_set.image_set_id,
        "1",
        instance_updates(image_set, {"DICOM": {"SOPInstanceUID": new_uid}}),
        force=True,
    )

    assert_seed_answer(response, image_set.image_set_id, "2")
    assert cli.wait_until_active(image_set.image_set_id) == "UPDATED"
    document = cli.emulator.service.current_metadata(cli.datastore_id, image_set.image_set_id)
    assert list(document["Study"]["Series"][image_set.series_uid]["Instances"]) == [new_uid]


def test_private_element_without_force_is_rejected(cli: CliSession, image_sets: list[CliImageSet]) -> None:
    image_set = image_sets[4]
    updates_file = cli.work_dir / "no-force.json"
    updates_file.write_text(json.dumps(instance_updates(image_set, {"DICOM": {"00091001": "X"}})))
    command = [
        *(
            str(AWS_CLI),
            "medical-imaging",
            "update-image-set-metadata",
            "--endpoint-url",
            cli.emulator.endpoint_url,
        ),
        *(
            "--datastore-id",
            cli.datastore_id,
            "--image-set-id",
            image_set.image_set_id,
            "--latest-version-id",
            "2",
        ),
        *("--update-image-set-metadata-updates", f"file://{updates_file}"),
    ]
    completed = subprocess.run(
        command, env=cli.environment(), capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode != 0
    assert "ValidationException" in completed.stderr


def test_service_specific_endpoint_variable_reaches_the_emulator(cli: CliSession) -> None:
    os.environ["AWS_ENDPOINT_URL_MEDICAL_IMAGING"] = cli.emulator.endpoint_url
    try:
        listed = cli.run("list-datastores", endpoint_flag=False)
    finally:
        del os.environ["AWS_ENDPOINT_URL_MEDICAL_IMAGING"]

    assert cli.datastore_id in [d["datastoreId"] for d in listed["datastoreSummaries"]]
