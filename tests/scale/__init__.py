"""Tests of geo.scale: the polygon index, counting, Parquet inputs and Dask."""
