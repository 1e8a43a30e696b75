"""Benchmarks for OS1; each is run as ``python -m bench.NAME`` and prints one JSON object."""
