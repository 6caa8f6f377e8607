"""Benchmarks of the metadata updater against the HealthImaging emulator (issue 16).

`python -m bench [--profile current|legacy ...] [--quick]` runs each profile's workloads through the
real local stack, once with the updater's own functions and once with a naive updater written the
way public examples do, and writes `bench/out/summary.json` (the issue's fields), `results.json`,
`bench.png` and `bench/RESULTS.md`. `bench/ANALYSIS.md` says where the time goes.
"""
