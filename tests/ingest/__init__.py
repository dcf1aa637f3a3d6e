"""Tests of geo.ingest: loaders, fetch, cache."""
