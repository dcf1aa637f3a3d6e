"""Tests of :mod:`geo.maps`."""
