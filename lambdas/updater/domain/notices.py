"""Settle notices: HealthImaging's `Image Set Updated` / `Image Set Update Failed` events settle a
lane's call without spending reads.

The notice is recorded on the lane (conditional on the version the lane's open call made, base +
1); a waiting lane message looks for it in the ledger every second (`steps.NOTICE_CHECK_S`) and
polls GetImageSet only once the notice window has passed, since the events are best effort.
Events for versions the updater did not create, or for calls already resolved, change nothing, and
an event is never new work.

Intake never changes a lane message's visibility: the receipt handles it would use were registered
by an earlier delivery and may be stale, and a stale handle that is still applied (moto does; AWS
does not promise to refuse it) would make a message visible while another delivery holds its
group, so two deliveries would work one image set at once. A lane that starts waiting after the
notice was recorded learns so from its registration write (one item: one of the two sees the
other) and comes back at once, with its own current handles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from updater.domain.identifiers import is_resource_id, is_version_id
from updater.domain.ledger import LaneKey
from updater.domain.ports import Clock, Ledger, MetricsSink

SETTLED_EVENTS = {"Image Set Updated": "UPDATED", "Image Set Update Failed": "UPDATE_FAILED"}


@dataclass(frozen=True)
class SettleNotice:
    lane: LaneKey
    version_id: str
    workflow_status: str  # UPDATED or UPDATE_FAILED


def parse_settle_notice(envelope: Mapping[str, Any]) -> SettleNotice | None:
    """The notice an image-set event carries, or None when it is not one (or is malformed).

    The developer guide's sample spells the id `imagesetId`; AWS's own samples and the schema
    registry `imageSetId`: both are read, then the image set ARN in `resources`.
    """
    status = SETTLED_EVENTS.get(str(envelope.get("detail-type")))
    detail = envelope.get("detail")
    if status is None or not isinstance(detail, Mapping):
        return None
    image_set_id = detail.get("imageSetId", detail.get("imagesetId"))
    resources = envelope.get("resources")
    if image_set_id is None and isinstance(resources, list) and resources and isinstance(resources[0], str):
        image_set_id = resources[0].rsplit("/", 1)[-1]
    version = detail.get("imageSetVersion")
    if not (is_resource_id(detail.get("datastoreId")) and is_resource_id(image_set_id)):
        return None
    # A number or a string of 1-20 ASCII digits (a bool is an int to Python, not a version).
    text = str(version) if isinstance(version, int) and not isinstance(version, bool) else version
    if not is_version_id(text):
        return None
    return SettleNotice(LaneKey(str(detail["datastoreId"]), str(image_set_id)), str(int(text)), status)


class Waker(Protocol):
    def wake(self, receipt_handles: Sequence[str]) -> None:
        """Make the lane's waiting messages visible now."""
        ...


class SettleNotices:
    def __init__(self, ledger: Ledger, waker: Waker, metrics: MetricsSink, clock: Clock) -> None:
        self._ledger = ledger
        self._waker = waker
        self._metrics = metrics
        self._clock = clock

    def receive(self, notice: SettleNotice) -> bool:
        """Record the notice on its lane and wake whoever waits for it; False when it is for a
        version no open call of the updater made (ignored)."""
        noted = self._ledger.note_settled(
            notice.lane, notice.version_id, notice.workflow_status, int(self._clock.now() * 1000)
        )
        if noted is None:
            self._metrics.count("NoticeIgnored")
            return False
        self._metrics.count("NoticeReceived")
        return True
