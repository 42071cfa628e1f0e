"""Benchmarks, run from the repository root: `python -m bench` (`make bench`) for fetching,
parsing and serving; `python -m bench.stories_bench` and friends for story matching."""
