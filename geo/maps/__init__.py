"""Stage 5a, maps: folium maps that draw with no internet.

- :mod:`~geo.maps.palettes`: every colour, once.
- :mod:`~geo.maps.classify`: class breaks (mapclassify).
- :mod:`~geo.maps.assets`: local Leaflet files instead of CDNs.
- :mod:`~geo.maps.legend`: a plain-HTML legend.
- :mod:`~geo.maps.geometry`: geometry simplified for display only.
- :mod:`~geo.maps.draw`: choropleth and category maps.

Nothing here imports streamlit.
"""
