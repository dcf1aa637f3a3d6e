"""Tests of geo.layers: joins, the layer builders and the catalogue."""
