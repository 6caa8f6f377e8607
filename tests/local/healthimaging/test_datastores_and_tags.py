"""Data stores over HTTP: lifecycle states and events, properties given at creation, tags by ARN."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.healthimaging import BehaviourProfile, EmulatorServer, HealthImagingService, ManualClock
from tests.local.healthimaging.contract import ContractRecorder
from tests.local.healthimaging.documents import metadata_document

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"
AUTHORIZER = "arn:aws:lambda:us-east-1:123456789012:function:dicomweb-authorizer"


def test_properties_given_at_creation_are_returned(client: Any) -> None:
    recorder = ContractRecorder(client)
    created = client.create_datastore(
        datastoreName="props", clientToken="p", kmsKeyArn=KMS_KEY, lambdaAuthorizerArn=AUTHORIZER,
        losslessStorageFormat="JPEG_2000_LOSSLESS", tags={"team": "imaging"},
    )  # fmt: skip
    properties = client.get_datastore(datastoreId=created["datastoreId"])["datastoreProperties"]

    assert created["datastoreStatus"] == "CREATING"
    assert (properties["datastoreStatus"], properties["kmsKeyArn"]) == ("ACTIVE", KMS_KEY)
    assert properties["lambdaAuthorizerArn"] == AUTHORIZER
    assert properties["losslessStorageFormat"] == "JPEG_2000_LOSSLESS"
    assert client.list_tags_for_resource(resourceArn=properties["datastoreArn"])["tags"] == {
        "team": "imaging"
    }
    assert recorder.problems == []


def test_the_default_lossless_storage_format_is_htj2k(client: Any) -> None:
    datastore_id = client.create_datastore(datastoreName="default-format", clientToken="d")["datastoreId"]

    assert client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]["losslessStorageFormat"] == (
        "HTJ2K"
    )


def test_lifecycle_passes_through_creating_and_deleting_with_events() -> None:
    clock = ManualClock()
    service = HealthImagingService(BehaviourProfile(datastore_transition_seconds=5), clock)
    datastore_id = service.call("CreateDatastore", {"datastoreName": "life", "clientToken": "l"})[
        "datastoreId"
    ]

    def status() -> str:
        return str(
            service.call("GetDatastore", {"datastoreId": datastore_id})["datastoreProperties"][
                "datastoreStatus"
            ]
        )

    assert status() == "CREATING"
    clock.advance(5)
    assert status() == "ACTIVE"
    assert service.call("DeleteDatastore", {"datastoreId": datastore_id})["datastoreStatus"] == "DELETING"
    assert status() == "DELETING"
    clock.advance(5)
    service.settle_due()
    listed = service.call("ListDatastores", {"datastoreStatus": "DELETED"})["datastoreSummaries"]
    assert [d["datastoreId"] for d in listed] == [datastore_id]
    events = service.published_events()
    assert [(e.detail_type, e.detail["datastoreStatus"]) for e in events] == [
        ("Data Store Creating", "CREATING"), ("Data Store Created", "ACTIVE"),
        ("Data Store Deleting", "DELETING"), ("Data Store Deleted", "DELETED"),
    ]  # fmt: skip
    assert events[0].detail == {
        "imagingVersion": "1.0", "datastoreId": datastore_id, "datastoreName": "life",
        "datastoreStatus": "CREATING",
    }  # fmt: skip
    assert events[0].resources == [service_arn(service, datastore_id)]


def service_arn(service: HealthImagingService, datastore_id: str) -> str:
    return f"arn:aws:medical-imaging:us-east-1:123456789012:datastore/{datastore_id}"


def test_image_sets_are_tagged_by_their_own_arn(client: Any, emulator: EmulatorServer) -> None:
    recorder = ContractRecorder(client)
    datastore_id = client.create_datastore(datastoreName="tags", clientToken="t")["datastoreId"]
    image_set_id = emulator.service.seed_image_set(datastore_id, metadata_document())
    image_set_arn = client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id)["imageSetArn"]
    datastore_arn = client.get_datastore(datastoreId=datastore_id)["datastoreProperties"]["datastoreArn"]

    client.tag_resource(resourceArn=image_set_arn, tags={"study": "chest", "reviewed": "no"})
    client.tag_resource(resourceArn=datastore_arn, tags={"team": "imaging"})
    client.untag_resource(resourceArn=image_set_arn, tagKeys=["reviewed"])

    assert client.list_tags_for_resource(resourceArn=image_set_arn)["tags"] == {"study": "chest"}
    assert client.list_tags_for_resource(resourceArn=datastore_arn)["tags"] == {"team": "imaging"}
    assert recorder.problems == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:medical-imaging:us-east-1:123456789012:datastore/" + "0" * 32,
        "arn:aws:medical-imaging:us-east-1:123456789012:datastore/{ds}/imageset/" + "0" * 32,
        "arn:aws:medical-imaging:eu-west-1:999999999999:datastore/{ds}",
    ],
)
def test_tags_of_an_unknown_resource_are_not_found(client: Any, arn: str) -> None:
    datastore_id = client.create_datastore(datastoreName="missing", clientToken="m")["datastoreId"]

    with pytest.raises(ClientError) as raised:
        client.list_tags_for_resource(resourceArn=arn.format(ds=datastore_id))
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_every_response_has_its_own_request_id(client: Any) -> None:
    ids = {client.list_datastores()["ResponseMetadata"]["RequestId"] for _ in range(3)}

    assert len(ids) == 3
