"""Benchmarks of the metadata updater against the HealthImaging emulator (issue 7).

`python -m bench [--quick]` runs every workload through the real local stack twice, once with the
updater and once with a naive updater written the way public examples do, and writes figures to
`bench/out/` (JSON + PNG) and `bench/RESULTS.md`.
"""
