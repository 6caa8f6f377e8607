"""CreateDatastore, GetDatastore, ListDatastores, DeleteDatastore, resource tags, data store lifecycle.

A data store is CREATING when CreateDatastore returns and ACTIVE once `datastore_transition_seconds`
(profile, default 0: the next call or settle tick) have passed; DeleteDatastore makes it DELETING,
then DELETED. Each step publishes the developer guide's data store event (`Data Store Creating`,
`Data Store Created`, `Data Store Deleting`, `Data Store Deleted`) with `datastoreId`,
`datastoreName` and `datastoreStatus`. Properties given at creation (KMS key, Lambda authorizer,
lossless storage format, tags) are kept and returned.
"""

from __future__ import annotations

import re
from typing import Any

from local.healthimaging.errors import ConflictException, ResourceNotFoundException
from local.healthimaging.events import resource_event
from local.healthimaging.pagination import page
from local.healthimaging.records import Datastore, new_resource_id
from local.healthimaging.state import EmulatorState

_EVENT_FOR_STATUS = {
    "CREATING": "Data Store Creating",
    "ACTIVE": "Data Store Created",
    "DELETING": "Data Store Deleting",
    "DELETED": "Data Store Deleted",
}
_SETTLED_STATUS = {"CREATING": "ACTIVE", "DELETING": "DELETED"}
_RESOURCE_ARN = re.compile(
    r"arn:[^:]+:medical-imaging:[^:]+:\d{12}:datastore/([0-9a-z]{32})(?:/imageset/([0-9a-z]{32}))?"
)


def _transition(state: EmulatorState, datastore: Datastore, status: str, at: float) -> None:
    datastore.status = status
    datastore.updated_at = at
    pending = status in _SETTLED_STATUS
    datastore.transition_deadline = (
        at + state.behaviour.profile.datastore_transition_seconds if pending else None
    )
    detail = {
        "datastoreId": datastore.datastore_id,
        "datastoreName": datastore.name,
        "datastoreStatus": status,
    }
    arn = state.datastore_arn(datastore.datastore_id)
    state.outbox.add(resource_event(_EVENT_FOR_STATUS[status], arn, detail, at))


def settle_datastores(state: EmulatorState) -> None:
    """CREATING -> ACTIVE and DELETING -> DELETED once their time has come (caller holds the lock)."""
    now = state.clock.now()
    for datastore in state.datastores.values():
        deadline = datastore.transition_deadline
        if deadline is not None and deadline <= now:
            _transition(state, datastore, _SETTLED_STATUS[datastore.status], deadline)


def create_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    now = state.clock.now()
    datastore = Datastore(
        datastore_id=new_resource_id(),
        name=params.get("datastoreName") or "datastore",
        created_at=now,
        kms_key_arn=params.get("kmsKeyArn"),
        lambda_authorizer_arn=params.get("lambdaAuthorizerArn"),
        lossless_storage_format=params.get("losslessStorageFormat") or "HTJ2K",
        tags=dict(params.get("tags") or {}),
    )
    state.datastores[datastore.datastore_id] = datastore
    _transition(state, datastore, "CREATING", now)
    return {"datastoreId": datastore.datastore_id, "datastoreStatus": datastore.status}


def _summary(state: EmulatorState, datastore: Datastore) -> dict[str, Any]:
    return {
        "datastoreId": datastore.datastore_id,
        "datastoreName": datastore.name,
        "datastoreStatus": datastore.status,
        "datastoreArn": state.datastore_arn(datastore.datastore_id),
        "createdAt": datastore.created_at,
        "updatedAt": datastore.updated_at or datastore.created_at,
    }


def get_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastores.get(params["datastoreId"])
    if datastore is None or datastore.status == "DELETED":
        raise ResourceNotFoundException(f"Datastore {params['datastoreId']} does not exist")
    optional = {
        "kmsKeyArn": datastore.kms_key_arn,
        "lambdaAuthorizerArn": datastore.lambda_authorizer_arn,
        "losslessStorageFormat": datastore.lossless_storage_format,
    }
    properties = {**_summary(state, datastore), **{k: v for k, v in optional.items() if v is not None}}
    return {"datastoreProperties": properties}


def list_datastores(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    wanted = params.get("datastoreStatus")
    datastores = [d for d in state.datastores.values() if wanted is None or d.status == wanted]
    items, token = page(datastores, params.get("maxResults"), params.get("nextToken"))
    summaries = [_summary(state, d) for d in items]
    return {"datastoreSummaries": summaries, **({"nextToken": token} if token else {})}


def delete_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    if any(s.deleted_at is None for s in datastore.image_sets.values()):
        raise ConflictException("Datastore still contains image sets")
    _transition(state, datastore, "DELETING", state.clock.now())
    return {"datastoreId": datastore.datastore_id, "datastoreStatus": datastore.status}


def _tags_of(state: EmulatorState, arn: str) -> dict[str, str]:
    """The tags of the data store or image set the ARN names (`.../datastore/<id>[/imageset/<id>]`)."""
    match = _RESOURCE_ARN.fullmatch(arn)
    if match is None or not arn.startswith(state.datastore_arn(match.group(1))):
        raise ResourceNotFoundException("Resource does not exist")
    datastore = state.datastore(match.group(1))
    if match.group(2) is None:
        return datastore.tags
    image_set = state.image_set(datastore.datastore_id, match.group(2))
    if image_set.deleted_at is not None:
        raise ResourceNotFoundException("Resource does not exist")
    return image_set.tags


def tag_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    _tags_of(state, params["resourceArn"]).update(params["tags"])
    return {}


def untag_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tags_of(state, params["resourceArn"])
    for key in params["tagKeys"]:
        tags.pop(key, None)
    return {}


def list_tags_for_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(_tags_of(state, params["resourceArn"]))}
