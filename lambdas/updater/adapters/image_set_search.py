"""ImageSetFinder: the image sets a selector matches, through SearchImageSets, paged and bounded.

One EQUAL filter (DICOMPatientId or DICOMStudyInstanceUID: what the API can filter on), sorted by
createdAt ascending, a value that does not change while the pages are read. Pages are asked for
only up to `at_most + 1` image sets, the one more telling that the match is too large; so a
fan-out of at most 100 costs at most three pages, each one read from the read budget (the gateway's
`SearchImageSets` share), which raises ThrottledError rather than wait long for its turn.
The filter's value is PHI: botocore marks searchCriteria sensitive, and nothing here logs.
"""

from __future__ import annotations

from typing import Any

from updater.adapters.healthimaging import HealthImagingGateway
from updater.domain.selectors import FoundImageSet, SearchCriterion, SearchResult

PAGE_SIZE = 50  # the API's maxResults bound


class ImageSetFinder:
    def __init__(self, gateway: HealthImagingGateway) -> None:
        self._gateway = gateway

    def find(self, datastore_id: str, criterion: SearchCriterion, *, at_most: int) -> SearchResult:
        found: dict[str, FoundImageSet] = {}
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "datastoreId": datastore_id,
                "searchCriteria": {
                    "filters": [{"operator": "EQUAL", "values": [{criterion.attribute: criterion.value}]}],
                    "sort": {"sortField": "createdAt", "sortOrder": "ASC"},
                },
                "maxResults": max(1, min(PAGE_SIZE, at_most + 1 - len(found))),
            }
            if token:
                params["nextToken"] = token
            page = self._gateway.search_image_sets(params)
            for summary in page.get("imageSetsMetadataSummaries", []):
                image_set = _found(summary)
                found.setdefault(image_set.image_set_id, image_set)
            token = page.get("nextToken")
            if len(found) > at_most or not token:
                break
        image_sets = tuple(found.values())
        return SearchResult(image_sets[:at_most], more=len(image_sets) > at_most)


def _found(summary: dict[str, Any]) -> FoundImageSet:
    tags = summary.get("DICOMTags") or {}
    uid = tags.get("DICOMStudyInstanceUID")
    primary = summary.get("isPrimary")
    return FoundImageSet(
        image_set_id=str(summary["imageSetId"]),
        version_id=str(summary.get("version", "")),
        is_primary=primary if isinstance(primary, bool) else None,
        study_instance_uid=uid if isinstance(uid, str) else None,
    )
