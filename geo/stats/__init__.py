"""Stage 3, statistics: arrays and GeoDataFrames in, typed results out.

- :mod:`~geo.stats.weights`: spatial weights with islands and components reported.
- :mod:`~geo.stats.moran`: global and local Moran's I (also for EB rates).
- :mod:`~geo.stats.getisord`: Getis-Ord Gi* with ArcGIS confidence bins.
- :mod:`~geo.stats.rates`: raw, excess-risk and empirical-Bayes rates of areas.
- :mod:`~geo.stats.proportions`: Wilson, ratio and Poisson intervals; beta-binomial EB rates.
- :mod:`~geo.stats.emerging`: space-time Gi* and Mann-Kendall, the ArcGIS categories.
- :mod:`~geo.stats.point_hotspots`: optimized hot spots of points.
- :mod:`~geo.stats.significance`: the local result, corrections (FDR), p-value classes.
- :mod:`~geo.stats.warning_codes`: the codes of the warnings every result carries.
- ``_permutation``: the vectorised conditional-permutation kernel (private).

Our own engine, checked against libpysal/esda and pygeoda in the tests (they are the
oracles); see the module docstrings for the measurements behind each choice.
"""
