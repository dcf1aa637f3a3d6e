"""Tests of geo.output: exports and plain-language text."""
