"""Benchmark baselines and yardsticks: installed only by config.settings.bench, never in production.

See apps/bench/README.md.
"""
