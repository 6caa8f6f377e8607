"""The composed local stack runs the real handler against the emulator and moto, end to end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pydicom.data
import pytest

from local.healthimaging import BehaviourProfile
from local.stack import LocalStack, LocalStackOptions

IDLE_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    options = LocalStackOptions(
        emulator_profile=BehaviourProfile.fast(),
        name_prefix="e2e-",
        visibility_timeout_s=5,
        function_timeout_s=30,
    )
    with LocalStack(options) as running:
        yield running


def outcome_events(stack: LocalStack) -> list[dict[str, object]]:
    assert stack.topology is not None
    messages = stack.aws.sqs.receive_message(
        QueueUrl=stack.topology.queue("outcome_capture").url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_update_request_on_the_ingest_queue_is_applied_and_reported(stack: LocalStack) -> None:
    assert stack.topology is not None
    (image_set_id,) = stack.emulator.service.import_dicom_files(
        stack.datastore_id, [pydicom.data.get_testdata_file("CT_small.dcm")]
    )
    request = {
        "datastoreId": stack.datastore_id,
        "imageSetId": image_set_id,
        "DICOMUpdates": {
            "updatableAttributes": {"SchemaVersion": 1.1, "Patient": {"DICOM": {"PatientName": "DOE^JANE"}}}
        },
    }
    stack.aws.sqs.send_message(QueueUrl=stack.topology.queue("ingest").url, MessageBody=json.dumps(request))
    stack.run_until_idle(IDLE_TIMEOUT_S)

    metadata = stack.emulator.service.current_metadata(stack.datastore_id, image_set_id)
    assert metadata["Patient"]["DICOM"]["PatientName"] == "DOE^JANE"
    (event,) = outcome_events(stack)
    assert event["detail-type"] == "ImageSetMetadataUpdate.Succeeded"
    assert event["detail"]["imageSetId"] == image_set_id  # type: ignore[index]


def test_each_function_gets_its_environment_with_local_endpoints_and_ours_is_untouched(
    stack: LocalStack,
) -> None:
    assert stack.topology is not None
    environment = stack.function_environment(stack.topology.function_of("ingest"))
    assert environment["LEDGER_TABLE_NAME"] == stack.topology.table_name
    assert environment["DATASTORE_IDS"] == stack.datastore_id
    assert environment["AWS_ENDPOINT_URL_MEDICAL_IMAGING"] == stack.emulator.endpoint_url
    assert environment["AWS_ENDPOINT_URL_SQS"] == stack.moto.endpoint_url
    assert not environment["IMPORT_RULES_PATH"].startswith("/var/task"), "read from the repository"
    # The functions run in execution environments of their own: this process keeps its environment.
    assert os.environ.get("LEDGER_TABLE_NAME") != stack.topology.table_name


def test_the_functions_logs_are_their_execution_environments_output(stack: LocalStack) -> None:
    logs = stack.function_logs()
    assert '"service":' in logs  # Powertools' JSON log lines
    assert '"_aws":' in logs  # EMF metrics
