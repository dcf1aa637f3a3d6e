"""Stage 5b, output: results in words and in files.

- :mod:`~geo.output.narrative`: plain-language explanations of results.
- :mod:`~geo.output.variables`: the mappable variables with plain labels.
- :mod:`~geo.output.export`: GeoJSON (RFC 7946), GeoPackage and CSV.
"""
