"""GroupProcessor: runs one coalesced call for several requests, each keeping its own ledger entry
and its own terminal outcome (naming the shared version).

The merged call is an internal request with its own ledger entry (so a redelivery resumes it
instead of calling again); it publishes nothing itself. Members that already ended, or are being
worked on elsewhere, or fail validation on their own, are taken out before the call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from updater.adapters.ledger import Ledger
from updater.attempt import ProcessResult
from updater.domain.coalescing import CoalescedGroup, coalesce
from updater.domain.outcome import UpdateOutcome
from updater.domain.request import UpdateRequest
from updater.domain.validation import validate_request
from updater.outcome_recorder import MetricsSink, OutcomeRecorder
from updater.service import UpdateService


class GroupProcessor:
    def __init__(
        self,
        service: UpdateService,
        ledger: Ledger,
        recorder: OutcomeRecorder,
        metrics: MetricsSink,
        *,
        payload_limit_bytes: int,
        allowed_datastores: frozenset[str],
        now: Callable[[], float],
    ) -> None:
        self._allowed = allowed_datastores
        self._service = service
        self._ledger = ledger
        self._recorder = recorder
        self._metrics = metrics
        self._limit = payload_limit_bytes
        self._now = now

    def process(
        self,
        group: CoalescedGroup,
        *,
        bodies: Mapping[str, str],
        trigger: str,
        deadline_s: float,
        owner: str,
        inline_wait_s: float = 1.5,
    ) -> dict[str, ProcessResult]:
        """Results keyed by member requestId."""
        if not group.coalesced:
            request = group.merged
            return {
                request.request_id: self._service.process(
                    request,
                    body=bodies[request.request_id],
                    trigger=trigger,
                    deadline_s=deadline_s,
                    owner=owner,
                    inline_wait_s=inline_wait_s,
                )
            }
        results: dict[str, ProcessResult] = {}
        claimed: list[UpdateRequest] = []
        try:
            live, alone = self._admit(
                group, bodies=bodies, owner=owner, deadline_s=deadline_s, results=results, claimed=claimed
            )
            for request in alone:  # fails or resumes on its own, with its own reason or version
                results[request.request_id] = self._service.process(
                    request,
                    body=bodies[request.request_id],
                    trigger=trigger,
                    deadline_s=deadline_s,
                    owner=owner,
                    inline_wait_s=inline_wait_s,
                )
            if live:
                results.update(
                    self._run(
                        live,
                        bodies=bodies,
                        trigger=trigger,
                        deadline_s=deadline_s,
                        owner=owner,
                        inline_wait_s=inline_wait_s,
                    )
                )
        finally:
            for request in claimed:
                self._ledger.release(request.request_id, owner)
        return results

    def _admit(
        self,
        group: CoalescedGroup,
        *,
        bodies: Mapping[str, str],
        owner: str,
        deadline_s: float,
        results: dict[str, ProcessResult],
        claimed: list[UpdateRequest],
    ) -> tuple[list[UpdateRequest], list[UpdateRequest]]:
        live: list[UpdateRequest] = []
        alone: list[UpdateRequest] = []
        for request in group.members:
            entry = self._service.claim_request(request, owner=owner, lease_s=deadline_s - self._now() + 1.0)
            if isinstance(entry, ProcessResult):
                results[request.request_id] = entry
                continue
            claimed.append(request)
            if entry.terminal:
                results[request.request_id] = ProcessResult(
                    self._recorder.replay(entry, bodies[request.request_id])
                )
            elif self._service.may_have_called(request, entry):
                # Applied (or perhaps applied) by an earlier call, its own or a group's: it resumes
                # that call's version; folded into a new call it would report a version it did not
                # create, and the one it did create would be nobody's.
                alone.append(request)
            elif validate_request(request, max_payload_bytes=self._limit, allowed_datastores=self._allowed):
                alone.append(request)
            else:
                live.append(request)
        return live, alone

    def _run(
        self,
        live: list[UpdateRequest],
        *,
        bodies: Mapping[str, str],
        trigger: str,
        deadline_s: float,
        owner: str,
        inline_wait_s: float,
    ) -> dict[str, ProcessResult]:
        groups = coalesce(live, ordered=True, payload_limit=self._limit) if len(live) > 1 else []
        if len(live) == 1 or len(groups) != 1:
            # Fewer members than planned: run each alone (still exactly once each, just no saving).
            return {
                r.request_id: self._service.process(
                    r,
                    body=bodies[r.request_id],
                    trigger=trigger,
                    deadline_s=deadline_s,
                    owner=owner,
                    inline_wait_s=inline_wait_s,
                )
                for r in live
            }
        merged = groups[0].merged
        result = self._service.process(
            merged,
            body=json.dumps(merged.wire_dict()),
            trigger=trigger,
            deadline_s=deadline_s,
            owner=owner,
            internal=True,
            members=tuple(r.request_id for r in live),
            inline_wait_s=inline_wait_s,
        )
        if result.outcome is None:
            return {r.request_id: result for r in live}
        self._metrics.count("CallsSavedByCoalescing", len(live) - 1)
        return {
            r.request_id: ProcessResult(self._member_outcome(result.outcome, r, live, bodies)) for r in live
        }

    def _member_outcome(
        self,
        merged: UpdateOutcome,
        member: UpdateRequest,
        live: list[UpdateRequest],
        bodies: Mapping[str, str],
    ) -> UpdateOutcome:
        outcome = merged.model_copy(
            update={
                "request_id": member.request_id,
                "coalesced_request_ids": [r.request_id for r in live if r is not member],
            }
        )
        return self._recorder.finish(outcome, bodies[member.request_id])
