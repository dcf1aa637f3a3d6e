"""cmpd-hotspots: geospatial hotspot analysis of CMPD open data.

Modules: :mod:`geo.load` (raw files to clean frames with row reports),
:mod:`geo.join` (spatial joins and overlays), :mod:`geo.aggregate` (counts and rates),
:mod:`geo.layers` (cached analysis layers), :mod:`geo.export` (GeoJSON, GeoPackage,
CSV), :mod:`geo.fetch` (data download), :mod:`geo.cli` (command line).
"""

__version__ = "0.1.0"
