"""Benchmarks: `make bench` runs them; numbers go to BENCHMARKS.md with the command."""
