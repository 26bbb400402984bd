"""Benchmarks with speed and memory targets (`make bench`); results go to bench-results/results.json."""
