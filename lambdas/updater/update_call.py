"""UpdateCall: the one UpdateImageSetMetadata call of an attempt, made at most once per base version.

Before calling, the request claims its base version (a conditional write): so when an invocation
stops between the call and its ledger write, version base+1 is known to be the claim holder's, and
nobody else's call can land on that base meanwhile. The call also takes its pacing turn (the
account-wide 0.25/s quota) and tells the pacer when it has been answered.
"""

from __future__ import annotations

from updater.adapters.healthimaging import HealthImagingGateway
from updater.adapters.ledger import LedgerEntry, LedgerStatus
from updater.adapters.version_claims import VersionClaims
from updater.attempt import Attempt, Clock
from updater.domain.errors import ConflictError
from updater.domain.image_set import ImageSetVersion
from updater.domain.request import UpdateRequest
from updater.outcome_recorder import MetricsSink
from updater.turns import UpdateTurns


class VersionClaimed(ConflictError):
    """Another request holds the claim on this base version: its call will move the image set on."""


class UpdateCall:
    def __init__(
        self,
        *,
        gateway: HealthImagingGateway,
        claims: VersionClaims,
        turns: UpdateTurns | None,
        metrics: MetricsSink,
        clock: Clock,
        claim_margin_s: float,
    ) -> None:
        self._gateway = gateway
        self._claims = claims
        self._turns = turns
        self._metrics = metrics
        self._clock = clock
        self._claim_margin_s = claim_margin_s

    def made_by(self, request: UpdateRequest, entry: LedgerEntry, base_version_id: str) -> bool:
        """Whether the call on `base_version_id` is this request's (or its coalesced call's)."""
        holder = self._claims.holder(request.datastore_id, request.image_set_id, base_version_id)
        return holder is not None and holder in (request.request_id, entry.via)

    def may_have_called(self, request: UpdateRequest, entry: LedgerEntry) -> bool:
        """Whether an earlier delivery may already have made this request's update call."""
        if entry.status is LedgerStatus.APPLIED:
            return True
        if entry.status is not LedgerStatus.APPLYING or not entry.base_version_id:
            return False
        return self.made_by(request, entry, entry.base_version_id)

    def wait_for_turn(self, attempt: Attempt) -> float:
        """Seconds until the attempt's pacing slot (0: call now)."""
        if self._turns is None:
            return 0.0
        budget = max(0.0, attempt.deadline_s - self._clock.now())
        return self._turns.wait_for_turn(
            attempt.request.request_id, attempt.turn_at_s, inline_wait_s=min(attempt.inline_wait_s, budget)
        )

    def spent_turn(self, attempt: Attempt) -> None:
        if self._turns is not None:
            self._turns.used(attempt.request.request_id, attempt.turn_at_s)
        attempt.turn_at_s = None

    def call(self, attempt: Attempt, base_version_id: str) -> ImageSetVersion:
        request = attempt.request
        holder = self._claims.claim(
            request.datastore_id,
            request.image_set_id,
            base_version_id,
            request.request_id,
            now_ms=int(self._clock.now() * 1000),
            # Taken over only after the invocation's end, and only while base is still the latest
            # version (i.e. the holder's call did not land), so base+1 stays attributed exactly.
            until_ms=int((attempt.deadline_s + self._claim_margin_s) * 1000),
        )
        if holder is not None:
            raise VersionClaimed("VersionClaimed", "another request is updating this version")
        self._metrics.count("UpdateCalls")
        try:
            return self._gateway.update(
                request.datastore_id,
                request.image_set_id,
                latest_version_id=base_version_id,
                updates=request.api_updates(),
                force=request.force,
                include_study_image_sets=request.include_study_image_sets,
            )
        finally:
            if self._turns is not None:
                self._turns.call_ended()
