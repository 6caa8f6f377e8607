"""Settle notices: HealthImaging's `Image Set Updated` / `Image Set Update Failed` events end a
lane's wait for its call's version at once, so settles are noticed without spending reads.

The events are best effort (the EventBridge reference lists them so), so a lane still polls when no
notice came in time: the notice only shortens the wait. A notice counts only for the version the
lane's open call made (recorded before the call as base + 1): events for versions the updater did
not create, or for calls already resolved, change nothing, and an event is never new work.

No wake-up is lost, whatever the order: the notice is recorded on the lane (conditional on the
version) and the write returns the waiting messages to wake; a lane that starts waiting registers
its messages with a write that returns a notice already recorded. One item, so one of the two sees
the other.

A wake is ChangeMessageVisibility 0 by the receipt handles the waiting delivery registered. On the
lane (a FIFO queue) SQS refuses a handle once its visibility window has ended or a later receive
replaced it ("The receipt handle has expired"), so a wake reaches only a message the registering
delivery still holds, never one another delivery took since; a refused wake changes nothing, and
the message comes back when its wait ends.
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
        if noted:
            self._waker.wake(noted)
        return True
