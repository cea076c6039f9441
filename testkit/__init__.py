"""Test helpers shared by tests/ and bench/: builders, in-memory fakes, Argo played by a
simulator, and an emulated Kubernetes API server to run the real operator process against.

Not tests themselves (those mirror the source tree under tests/); a package of its own so
the benchmarks use the same doubles without importing the test suite.
"""
