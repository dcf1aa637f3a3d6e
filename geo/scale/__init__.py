"""Scale-out: millions of points counted per unit, in process or on a Dask cluster.

- :mod:`~geo.scale.polygon_index`: the exact grid point-in-polygon kernel (its grid is
  built in the private ``_grid`` module).
- :mod:`~geo.scale.index_cache`: the index of a catalogue layer, cached on disk (a warm start
  needs neither geopandas nor pandas).
- :mod:`~geo.scale.counting`: counts per unit with a report of every point.
- :mod:`~geo.scale.parquet`: reading point coordinates from (Geo)Parquet, row group by row group.
- :mod:`~geo.scale.distributed`: counting Parquet points in process or on a Dask cluster.
- :mod:`~geo.scale.memory`: let a counting process reuse the memory it frees (glibc).
- :mod:`~geo.scale.synthetic`: SYNTHETIC points for benchmarks and tests only.
"""
