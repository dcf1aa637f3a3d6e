"""Stage 5a, maps: folium maps that draw with no internet.

- :mod:`~geo.maps.palettes`: every colour, once.
- :mod:`~geo.maps.classify`: class breaks (mapclassify) and their colour ramps.
- :mod:`~geo.maps.assets`: local Leaflet files instead of CDNs; the empty offline map.
- :mod:`~geo.maps.legend`: a plain-HTML legend.
- :mod:`~geo.maps.geometry`: geometry for display only (simplified; rows without one set aside).
- :mod:`~geo.maps.reference`: reference layers (roads and their names, rail, ZIP codes, ...).
- :mod:`~geo.maps.overlays`: what goes over the areas: the reference layers, copied onto each map,
  and the selected area's outline.
- :mod:`~geo.maps.draw`: choropleth and category maps, drawn along one path.

Nothing here imports streamlit.
"""
