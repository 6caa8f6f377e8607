#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth` / `npx cdk deploy -c stage=prod` (see infra/application.py)."""

import sys
from pathlib import Path

# Synthesis validates each stage's import rules with the Lambda's own validator (package `updater`).
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

from infra.application import build_app

if __name__ == "__main__":
    build_app().synth()
