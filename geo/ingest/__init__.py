"""Stage 1, ingest: raw files in, clean frames and a :class:`~geo.ingest.report.LoadReport` out.

- :mod:`~geo.ingest.sources`: the data sets, where each lives and where it comes from.
- :mod:`~geo.ingest.fetch`: download from the City of Charlotte portal, or copy a mirror
  (:mod:`~geo.ingest.manifest` records what was fetched).
- :mod:`~geo.ingest.files`: reading tables and layers with clear errors; atomic writes.
- :mod:`~geo.ingest.geometry`: the one polygon repair.
- :mod:`~geo.ingest.stops`, :mod:`~geo.ingest.boundaries`, :mod:`~geo.ingest.npa_metrics`,
  :mod:`~geo.ingest.points`, :mod:`~geo.ingest.odp`: one loader per data set.
- :mod:`~geo.ingest.report`: row accounting; :mod:`~geo.ingest.cache`: the Parquet cache.
"""
