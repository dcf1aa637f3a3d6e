"""cmpd-hotspots: geospatial hot-spot analysis of CMPD open data.

The package is the pipeline. Data flows one way, and each stage imports only the
stages below it (an import-linter contract checks this in ``make lint``)::

    raw files (data/raw, fetched or mirrored)
      │  geo.ingest    sources, fetch (+ arcgis), files, geometry, stops, boundaries,
      │                npa_metrics, qol, points, incidents, records, odp, reference,
      │                user_layer, cache → clean frames + LoadReport (every row accounted for)
      ▼
    geo.layers         join, stop_tables, npa_table, filters (StopFilter), grid, build,
      │                records, catalog, places → joined analysis layers (one catalogue of named
      │                layers) and the place index (find an NPA by name, ZIP, road ...)
      ├──────────────────────────┐
      ▼                          ▼
    geo.stats                  geo.scale
      weights, moran, getisord,  polygon_index, index_cache, counting, distributed (Dask),
      bivariate, rates,          parquet, memory, synthetic → points counted per unit at scale
      proportions, emerging, cube, trends, markov, accuracy, near_repeat,
      point_hotspots, significance
      ▼
    geo.analysis       hotspots (+ hotspot_options, hotspot_variables, hotspot_advice),
      │                robustness, spacetime, trends, persistence, clearance, regression,
      │                disparity, benchmark, funnel, models, use_of_force,
      │                neighborhood, stops_check → the questions, defaults decided here
      ├──────────────────────────┐
      ▼                          ▼
    geo.maps                   geo.output
      palettes, classify,        narrative (plain words), variables, export,
      assets, legend, geometry,  dictionary, metadata, results (analysis
      draw, reference            results as layers)
      ▼                          ▼
    geo.cli            python -m geo: fetch, report, export, hotspots, disparity, aggregate, cache
    app.py, app_pages/ the Streamlit app (outside geo; geo never imports streamlit)

Shared by every stage: :mod:`geo.errors` (exceptions, warnings as data),
:mod:`geo.settings`, :mod:`geo.vocab` (the CMPD vocabulary), :mod:`geo.caveats`
(what the numbers cannot say) and :mod:`geo.text` (escaping text from the data).
"""

import os as _os

# Our statistics are numpy code and never use numba. When numba is installed (the test tools
# bring it: giddy needs quantecon), mapclassify compiles its kernels eagerly at import (12-25 s
# per process here) and esda compiles on first call: measured, that makes the app's first map
# and every CLI run wait. Importing geo first turns numba's JIT off for the process unless the
# user chose (set NUMBA_DISABLE_JIT=0 to keep it, e.g. to time esda with numba).
_os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

__version__ = "0.2.0"
