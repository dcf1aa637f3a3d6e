"""Stage 5b, output: results in words and in files.

- :mod:`~geo.output.narrative`: plain-language explanations of results.
- :mod:`~geo.output.variables`: the mappable variables with plain labels.
- :mod:`~geo.output.export`: GeoJSON (RFC 7946, 6 decimals), GeoPackage and CSV (formulas
  neutralised, no cell over Excel's limit), each with its sidecars.
- :mod:`~geo.output.dictionary`: the data dictionary (column, meaning, units, source, year).
- :mod:`~geo.output.metadata`: version, sources, stop filter and CRS of an export
  (``gpkg_metadata`` in a GeoPackage, a sidecar file otherwise).
- :mod:`~geo.output.results`: hot-spot and robustness runs as export layers.
"""
