"""Stage 4, analysis: the questions the app and the command line ask, with every default decided here.

- :mod:`~geo.analysis.hotspots`: one entry point for every hot-spot method
  (:mod:`~geo.analysis.hotspot_variables`: the variable, its year, per-capita rates).
- :mod:`~geo.analysis.disparity`, :mod:`~geo.analysis.benchmark`,
  :mod:`~geo.analysis.funnel`, :mod:`~geo.analysis.models`: stop outcomes by group
  (rate tables and their intervals; stops per resident; funnel plots; logistic models,
  fitted by the private engine ``_logit``).
- :mod:`~geo.analysis.use_of_force`: officer-involved shootings and the state's tables.
- :mod:`~geo.analysis.neighborhood`: the community view's hot spots.
- :mod:`~geo.analysis.stops_check`: check an uploaded stops file.
"""
