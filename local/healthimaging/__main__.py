"""`python -m local.healthimaging --port 4590 [--profile profile.json]`: run the emulator until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from local.healthimaging.profile import BehaviourProfile
from local.healthimaging.server import EmulatorServer


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.healthimaging", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4590)
    parser.add_argument("--profile", type=Path, help="JSON file with a BehaviourProfile")
    parser.add_argument("--s3-endpoint-url", help="S3 for imports and manifests, e.g. moto's server")
    parser.add_argument("--eventbridge-endpoint-url", help="EventBridge to publish HealthImaging events to")
    parser.add_argument("--event-bus-name", default="default")
    parser.add_argument("--region", default="us-east-1")
    return parser.parse_args()


def main() -> None:
    arguments = _arguments()
    profile = None
    if arguments.profile is not None:
        profile = BehaviourProfile.model_validate(json.loads(arguments.profile.read_text(encoding="utf-8")))
    server = EmulatorServer(
        profile=profile,
        host=arguments.host,
        port=arguments.port,
        s3_endpoint_url=arguments.s3_endpoint_url,
        eventbridge_endpoint_url=arguments.eventbridge_endpoint_url,
        event_bus_name=arguments.event_bus_name,
        region=arguments.region,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"HealthImaging emulator listening on {server.endpoint_url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
