"""Harnesses that drive the library end to end — the demo and experiments.

The library never imports them; only `cli/` and `bench/` do.
"""
