"""CreateDatastore, GetDatastore, ListDatastores, DeleteDatastore and resource tags.

Data stores are ACTIVE as soon as they are created (the real service passes through CREATING for
a while; nothing in the updater depends on that wait).
"""

from __future__ import annotations

from typing import Any

from local.healthimaging.errors import ConflictException, ResourceNotFoundException
from local.healthimaging.pagination import page
from local.healthimaging.records import Datastore, new_resource_id
from local.healthimaging.state import EmulatorState


def create_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = Datastore(
        datastore_id=new_resource_id(),
        name=params.get("datastoreName") or "datastore",
        created_at=state.clock.now(),
        kms_key_arn=params.get("kmsKeyArn"),
        tags=dict(params.get("tags") or {}),
    )
    state.datastores[datastore.datastore_id] = datastore
    return {"datastoreId": datastore.datastore_id, "datastoreStatus": datastore.status}


def _properties(state: EmulatorState, datastore: Datastore) -> dict[str, Any]:
    properties = {
        "datastoreId": datastore.datastore_id,
        "datastoreName": datastore.name,
        "datastoreStatus": datastore.status,
        "datastoreArn": state.datastore_arn(datastore.datastore_id),
        "createdAt": datastore.created_at,
        "updatedAt": datastore.created_at,
    }
    if datastore.kms_key_arn:
        properties["kmsKeyArn"] = datastore.kms_key_arn
    return properties


def get_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    properties = _properties(state, state.datastore(params["datastoreId"]))
    return {"datastoreProperties": properties}


def list_datastores(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    wanted = params.get("datastoreStatus")
    datastores = [d for d in state.datastores.values() if wanted is None or d.status == wanted]
    items, token = page(datastores, params.get("maxResults"), params.get("nextToken"))
    summaries = [{k: v for k, v in _properties(state, d).items() if k != "kmsKeyArn"} for d in items]
    return {"datastoreSummaries": summaries, **({"nextToken": token} if token else {})}


def delete_datastore(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    datastore = state.datastore(params["datastoreId"])
    if any(s.deleted_at is None for s in datastore.image_sets.values()):
        raise ConflictException("Datastore still contains image sets")
    datastore.status = "DELETED"
    return {"datastoreId": datastore.datastore_id, "datastoreStatus": "DELETING"}


def _tagged(state: EmulatorState, arn: str) -> dict[str, str]:
    datastore_id = arn.split("datastore/", 1)[-1].split("/", 1)[0]
    if not arn.startswith("arn:") or datastore_id not in state.datastores:
        raise ResourceNotFoundException("Resource does not exist")
    return state.datastores[datastore_id].tags


def tag_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    _tagged(state, params["resourceArn"]).update(params["tags"])
    return {}


def untag_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tagged(state, params["resourceArn"])
    for key in params["tagKeys"]:
        tags.pop(key, None)
    return {}


def list_tags_for_resource(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(_tagged(state, params["resourceArn"]))}
