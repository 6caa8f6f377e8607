"""Planning one delivery's requests of an image set on its current version: which end now, with
what outcome, and which share the next update call.

Requests before the first one that needs a call are decided against the current metadata (no-ops,
dry runs, failures planning finds, pinned versions the image set has left, what a primary image
set refuses, preconditions that do not hold). After it, only requests that merge with it, in
order, join the call; the first that does not ends the call, and it and everything after it wait
for the next delivery (a request with preconditions never joins: they hold on the version its own
call is based on, checked when it heads one). (A failure that
planning finds in a later request does not depend on the earlier ones: a call cannot add the
series or instances it names, and coalescing refuses a removal of what another member sets.)
Nothing here writes: the caller records the outcomes once it trusts the version they rest on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from updater.domain.coalescing import coalesce, coalescible
from updater.domain.errors import FailureCode, PermanentServiceError, ValidationFailure
from updater.domain.image_set import ImageSetVersion
from updater.domain.outcome import OutcomeStatus, UpdateOutcome
from updater.domain.planning import UpdatePlan, plan_revert, plan_update
from updater.domain.ports import Clock, ImageSets
from updater.domain.preconditions import precondition_failure
from updater.domain.primary_rules import ADVICE as PRIMARY_ADVICE
from updater.domain.primary_rules import PrimaryImageSetPolicy
from updater.domain.request import UpdateRequest
from updater.domain.step_results import Member

Decided = list[tuple[Member, UpdateOutcome]]


@dataclass
class CallPlan:
    request: UpdateRequest  # what is sent: one member, or several merged in order
    members: list[tuple[Member, UpdatePlan]]


class RoundPlanner:
    def __init__(
        self, *, images: ImageSets, primary: PrimaryImageSetPolicy, clock: Clock, payload_limit_bytes: int
    ) -> None:
        self._images = images
        self._primary = primary
        self._clock = clock
        self._payload_limit = payload_limit_bytes

    def decide(
        self, live: list[Member], latest: ImageSetVersion, document: Mapping[str, Any]
    ) -> tuple[Decided, CallPlan | None]:
        """The outcomes that can be decided on `latest`, and the call for the next requests."""
        call: CallPlan | None = None
        decided: Decided = []
        for member in live:
            request = member.request
            if call is not None:
                if not coalescible(request):
                    break
                plan = plan_update(request, document)
                if plan.failures:
                    decided.append((member, self.failure(member, latest, *_first(plan))))
                    continue
                merged = self._merge(call, member, latest)
                if merged is None:
                    break
                call.request = merged
                call.members.append((member, plan))
                continue
            if request.expected_version_id and request.expected_version_id != latest.version_id:
                message = "image set moved on from the pinned version"
                decided.append((member, self.failure(member, latest, FailureCode.VERSION_CONFLICT, message)))
                continue
            unmet = precondition_failure(request, document)  # on the version the call would name
            if unmet is not None:
                decided.append((member, self.failure(member, latest, *unmet)))
                continue
            plan = self._plan_one(request, document)
            if plan.failures:
                decided.append((member, self.failure(member, latest, *_first(plan))))
            elif not plan.noop and self._primary.refuses(request, latest):
                restricted = FailureCode.PRIMARY_IMAGE_SET_RESTRICTED
                decided.append((member, self.failure(member, latest, restricted, PRIMARY_ADVICE)))
            elif plan.noop or request.dry_run:
                unchanged = self.outcome(member, latest, plan).model_copy(update={"noop": plan.noop})
                decided.append((member, unchanged))
            else:
                call = CallPlan(request, [(member, plan)])
        return decided, call

    def _merge(self, call: CallPlan, member: Member, latest: ImageSetVersion) -> UpdateRequest | None:
        """The call with `member` merged in, or None. Once primary image sets are known to refuse a
        kind of change, such a change goes alone: a refusal fails its own request and no other."""
        if any(self._primary.keeps_apart(r, latest) for r in (call.request, member.request)):
            return None
        requests = [m.request for m, _ in call.members] + [member.request]
        groups = coalesce(requests, ordered=True, payload_limit=self._payload_limit)
        return groups[0].merged if len(groups) == 1 else None

    def _plan_one(self, request: UpdateRequest, document: Mapping[str, Any]) -> UpdatePlan:
        if request.revert_to_version_id is None:
            return plan_update(request, document)
        try:
            target = self._images.get_metadata(
                request.datastore_id, request.image_set_id, request.revert_to_version_id
            )
        except PermanentServiceError as err:
            if err.failure_code is not FailureCode.IMAGE_SET_NOT_FOUND:
                raise
            failure = ValidationFailure(
                FailureCode.REVERT_VERSION_NOT_FOUND, "revertToVersionId", "names no version of the image set"
            )
            return UpdatePlan(noop=False, failures=(failure,))
        return plan_revert(document, target)

    # -- outcomes ---------------------------------------------------------------------------------
    def outcome(self, member: Member, latest: ImageSetVersion, plan: UpdatePlan | None) -> UpdateOutcome:
        """A SUCCEEDED outcome on `latest` with nothing applied (the base of every other one)."""
        message, request = member.delivery.message, member.request
        return UpdateOutcome(
            request_id=request.request_id,
            datastore_id=request.datastore_id,
            image_set_id=request.image_set_id,
            status=OutcomeStatus.SUCCEEDED,
            trigger=message.trigger,
            from_version_id=latest.version_id,
            to_version_id=latest.version_id,
            dry_run=request.dry_run,
            revert_to_version_id=request.revert_to_version_id,
            forced=request.force,
            attempts=member.delivery.receive_count,
            duration_ms=max(0, int(self._clock.now() * 1000) - message.received_at_ms),
            changed=dict(plan.changed) if plan else {},
            removed=dict(plan.removed) if plan else {},
        )

    def failure(
        self, member: Member, latest: ImageSetVersion, code: FailureCode, message: str
    ) -> UpdateOutcome:
        return self.outcome(member, latest, None).failed(code, message)


def _first(plan: UpdatePlan) -> tuple[FailureCode, str]:
    return plan.failures[0].code, plan.failures[0].message
