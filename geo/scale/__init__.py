"""Scale-out: millions of points counted per unit, in process or on a Dask cluster.

- :mod:`~geo.scale.polygon_index`: the exact grid point-in-polygon kernel (its grid is
  built in the private ``_grid`` module).
- :mod:`~geo.scale.counting`: counts per unit with a report of every point.
- :mod:`~geo.scale.distributed`: Parquet inputs, local or Dask engines.
- :mod:`~geo.scale.synthetic`: SYNTHETIC points for benchmarks and tests only.
"""
