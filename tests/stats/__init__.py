"""Tests of geo.stats: weights, Moran, Gi*, rates, emerging and point hot spots, the permutation kernel."""
