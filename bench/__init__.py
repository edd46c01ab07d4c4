"""Benchmark scripts (`python -m bench.<name>` from the repository root); each prints its figures."""
