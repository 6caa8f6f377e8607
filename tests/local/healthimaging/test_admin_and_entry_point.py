"""The admin endpoint that steers a running emulator, and `python -m local.healthimaging`."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.healthimaging import BehaviourProfile, EmulatorServer, ManualClock, medical_imaging_client
from local.healthimaging.client import local_aws_client


@pytest.fixture
def manual_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(profile=BehaviourProfile(), clock=ManualClock()) as server:
        yield server


def admin(emulator: EmulatorServer, method: str, path: str, document: Any = None) -> Any:
    data = json.dumps(document).encode() if document is not None else None
    request = urllib.request.Request(f"{emulator.endpoint_url}/_emulator/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_profile_changes_make_the_service_throttle(manual_emulator: EmulatorServer) -> None:
    client = local_aws_client(
        "medical-imaging", manual_emulator.endpoint_url, retries={"mode": "standard", "total_max_attempts": 1}
    )
    changed = admin(manual_emulator, "POST", "profile", {"faults": {"throttle_probability": 1.0}})

    assert changed["faults"]["throttle_probability"] == 1.0
    assert changed["settle"] == BehaviourProfile().settle.model_dump()
    with pytest.raises(ClientError) as raised:
        client.list_datastores()
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert admin(manual_emulator, "GET", "calls")["counts"] == {"ListDatastores": 1}


def test_clock_advance_settles_updates(manual_emulator: EmulatorServer) -> None:
    client = medical_imaging_client(manual_emulator.endpoint_url)
    datastore_id = client.create_datastore(datastoreName="admin", clientToken="c")["datastoreId"]
    image_set_id = manual_emulator.service.seed_image_set(
        datastore_id, {"Patient": {"DICOM": {"PatientName": "A"}}}
    )
    client.update_image_set_metadata(
        datastoreId=datastore_id, imageSetId=image_set_id, latestVersionId="1",
        updateImageSetMetadataUpdates={"revertToVersionId": "1"},
    )  # fmt: skip

    admin(manual_emulator, "POST", "clock/advance", {"seconds": 600})

    assert (
        client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["imageSetState"] == "ACTIVE"
    )
    detail_types = [e["detail_type"] for e in admin(manual_emulator, "GET", "events")["events"]]
    assert detail_types[-2:] == ["Image Set Updating", "Image Set Updated"]


def test_invalid_profile_is_rejected_and_the_old_one_kept(manual_emulator: EmulatorServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(manual_emulator, "POST", "profile", {"settle": {"median_seconds": -1}})
    raised.value.close()

    assert raised.value.code == 400
    assert (
        admin(manual_emulator, "GET", "profile")["settle"]["median_seconds"]
        == BehaviourProfile().settle.median_seconds
    )


def test_module_entry_point_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.healthimaging", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        endpoint_url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        listed = medical_imaging_client(endpoint_url).list_datastores()
        assert listed["datastoreSummaries"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def test_profile_file_selects_the_strict_primary_image_set_rules(tmp_path: Any) -> None:
    profile_file = tmp_path / "strict.json"
    profile_file.write_text(json.dumps({"primary_image_set_rules": "strict"}))
    process = subprocess.Popen(
        [sys.executable, "-m", "local.healthimaging", "--port", "0", "--profile", str(profile_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoint_url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        request = urllib.request.Request(f"{endpoint_url}/_emulator/profile")
        with urllib.request.urlopen(request, timeout=5) as response:
            served = json.loads(response.read())
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert served["primary_image_set_rules"] == "strict"
    assert BehaviourProfile().primary_image_set_rules == "legacy"
