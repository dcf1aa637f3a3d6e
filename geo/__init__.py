"""cmpd-hotspots: geospatial hot-spot analysis of CMPD open data.

The package is the pipeline. Data flows one way, and each stage imports only the
stages below it (an import-linter contract checks this in ``make lint``)::

    raw files (data/raw, fetched or mirrored)
      │  geo.ingest    sources, fetch, files, geometry, stops, boundaries, npa_metrics,
      │                points, odp, reference, user_layer, cache → clean frames + LoadReport
      │                (every row accounted for)
      ▼
    geo.layers         join, stop_tables, npa_table, filters (StopFilter), grid, build,
      │                catalog, places → joined analysis layers (one catalogue of named
      │                layers) and the place index (find an NPA by name, ZIP, road ...)
      ├──────────────────────────┐
      ▼                          ▼
    geo.stats                  geo.scale
      weights, moran, getisord,  polygon_index, counting, distributed (Dask),
      rates, proportions,        parquet, synthetic → points counted per unit at scale
      emerging, point_hotspots, significance
      ▼
    geo.analysis       hotspots (+ hotspot_options, hotspot_variables, hotspot_advice),
      │                robustness, disparity, benchmark, funnel, models, use_of_force,
      │                neighborhood, stops_check → the questions, defaults decided here
      ├──────────────────────────┐
      ▼                          ▼
    geo.maps                   geo.output
      palettes, classify,        narrative (plain words), variables, export,
      assets, legend, geometry,  dictionary, metadata, results (analysis
      draw, reference            results as layers)
      ▼                          ▼
    geo.cli            python -m geo: fetch, report, export, hotspots, disparity, aggregate
    app.py, app_pages/ the Streamlit app (outside geo; geo never imports streamlit)

Shared by every stage: :mod:`geo.errors` (exceptions, warnings as data),
:mod:`geo.settings`, :mod:`geo.vocab` (the CMPD vocabulary), :mod:`geo.caveats`
(what the numbers cannot say) and :mod:`geo.text` (escaping text from the data).
"""

__version__ = "0.2.0"
