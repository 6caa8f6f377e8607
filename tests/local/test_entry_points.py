"""Every `python -m local.*` command (and `python -m updater_ops`): --help answers at once without
starting anything, and a mistake a user can make ends in one line naming it, exit code 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELP_BUDGET_S = 2.0
# A loaded machine (the suite runs on two workers) can stall one start-up: the best of a few counts.
HELP_ATTEMPTS = 3


def entry_points() -> list[str]:
    modules = [
        f"local.{path.stem}"
        for path in sorted((REPO / "local").glob("*.py"))
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    ]
    return [*modules, "local.healthimaging", "updater_ops"]


def run_module(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        check=False,
    )


def test_the_entry_points_are_all_found() -> None:
    assert {"local.stack", "local.submit", "local.outcomes", "local.invoke", "local.demo"} <= set(
        entry_points()
    )


@pytest.mark.parametrize("module", entry_points())
def test_help_answers_within_two_seconds_without_starting_anything(module: str) -> None:
    elapsed = []
    for _ in range(HELP_ATTEMPTS):
        started = time.monotonic()
        answer = run_module(module, "--help", timeout=30)
        elapsed.append(time.monotonic() - started)
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.startswith("usage: python -m "), answer.stdout
        assert "starting" not in answer.stdout + answer.stderr
        if elapsed[-1] < HELP_BUDGET_S:
            break
    assert min(elapsed) < HELP_BUDGET_S, f"{module} --help took {elapsed}"


def closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


@pytest.fixture
def stale_state_file(tmp_path: Path) -> Path:
    """What a stack that stopped without cleaning up leaves behind: endpoints nobody answers at."""
    port = closed_port()
    topology = {"queues": {}, "table_name": "t", "buses": {}, "rules": {}, "functions": {}}
    state = {
        "moto_endpoint_url": f"http://127.0.0.1:{port}",
        "healthimaging_endpoint_url": f"http://127.0.0.1:{port}",
        "datastore_id": "d" * 32,
        "stage": "dev",
        "run_dir": str(tmp_path),
        "topology": {**topology, "event_source_mappings": []},
    }
    path = tmp_path / "local-stack.json"
    path.write_text(json.dumps(state))
    return path


def user_mistakes(tmp_path: Path, stale: Path) -> list[tuple[list[str], str]]:
    missing_state = str(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"datastoreId": ')
    request = ["--image-set-id", "e" * 32, "--set", "Patient.PatientName=X"]
    return [
        (["local.stack", "--stage", "nope"], "unknown stage 'nope'"),
        (["local.invoke", "--stage", "nope", "events/requests/01-update-patient-name.json"], "unknown stage"),
        (["local.invoke", str(tmp_path / "nothing.json")], "no such event file"),
        (["local.invoke", str(broken)], "not valid JSON"),
        (["local.invoke", "--running", "--state-file", missing_state, str(broken)], "not valid JSON"),
        (
            ["local.invoke", "--running", "--state-file", missing_state, "events/sqs/update-request.json"],
            "no running",
        ),
        (["local.submit", "--state-file", missing_state, *request], "no running local stack"),
        (["local.submit", "--state-file", str(stale), *request], "stale state file"),
        (["local.submit", "--state-file", str(broken), *request], "not a state file"),
        (
            ["local.submit", "--print-only", "--datastore-id", "d" * 32, "--image-set-id", "e" * 32],
            "nothing to do",
        ),
        (
            ["local.submit", "--state-file", str(stale), "--image-set-id", "e", "--set", "Nowhere.X=1"],
            "stale",
        ),
        (["local.outcomes", "--state-file", missing_state], "no running local stack"),
        (["local.outcomes", "--state-file", str(stale)], "stale state file"),
        (["local.conformance", "--endpoint", "aws"], "--datastore-id"),
        (["updater_ops", "failures", "--state-file", missing_state], "no running local stack"),
        (["updater_ops", "retry", "--request-id", "r", "--region", "us-east-1"], "need --stage"),
    ]


def test_a_user_mistake_is_one_line_and_exit_code_2(tmp_path: Path, stale_state_file: Path) -> None:
    for argv, problem in user_mistakes(tmp_path, stale_state_file):
        answer = run_module(*argv)
        assert answer.returncode == 2, (argv, answer.stdout, answer.stderr)
        assert "Traceback" not in answer.stderr, (argv, answer.stderr)
        (line,) = answer.stderr.strip().splitlines()
        assert line.startswith("error: ") and problem in line, (argv, line)
