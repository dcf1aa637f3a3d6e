"""Shared test helpers: hand-made lattices, where the data is, the browser."""
