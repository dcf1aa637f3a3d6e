"""Stage 2, layers: clean frames in, joined analysis layers out (EPSG:2264).

- :mod:`~geo.layers.catalog`: the named layers (``divisions``, ``npa``, ``ois``,
  ``incidents``, ``hexagons``) used by the command line, the app and exports.
- :mod:`~geo.layers.build`: the layer builders over the cached clean frames.
- :mod:`~geo.layers.join`: points to polygons, area weighting, majority overlap.
- :mod:`~geo.layers.stop_tables`, :mod:`~geo.layers.npa_table`: per-unit tables.
- :mod:`~geo.layers.filters`: :class:`~geo.layers.filters.StopFilter`.
- :mod:`~geo.layers.grid`: hexagon grids over a boundary.
"""
