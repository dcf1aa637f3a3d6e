"""cmpd-hotspots: geospatial hotspot analysis of CMPD open data.

Data flows one way: raw files -> clean frames with row reports -> joined layers ->
statistics -> maps and exports.

- Loading: :mod:`geo.fetch` (portal download or mirror copy), :mod:`geo.sources`
  (data-set registry), :mod:`geo.load` (clean frames with row reports), :mod:`geo.cache`.
- Joining and layers: :mod:`geo.join`, :mod:`geo.aggregate`, :mod:`geo.layers`,
  :mod:`geo.pip` (fast point-in-polygon), :mod:`geo.distributed` (Dask).
- Spatial statistics: :mod:`geo.weights`, :mod:`geo.autocorrelation`,
  :mod:`geo.getisord`, :mod:`geo.rates`, :mod:`geo.emerging`, :mod:`geo.point_hotspots`.
- Disparities: :mod:`geo.disparity`, :mod:`geo.models`, :mod:`geo.use_of_force`.
- Output: :mod:`geo.maps` (offline folium), :mod:`geo.export`, :mod:`geo.neighborhood`,
  :mod:`geo.cli` (``python -m geo``).
"""

__version__ = "0.1.0"
