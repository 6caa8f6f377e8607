"""The rig CPU table names each process role briefly, and the two moto processes apart."""

from __future__ import annotations

from bench.report import _short_role


def test_roles_lose_their_detail_but_a_single_service_moto_keeps_its_service() -> None:
    assert _short_role("apply environments (16 worker processes)") == "apply environments"
    assert _short_role("moto (every service)") == "moto"
    assert _short_role("moto (dynamodb)") == "moto dynamodb"
    assert _short_role("bench process (emulator, pollers, harness)") == "bench process"
