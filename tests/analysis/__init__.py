"""Tests of geo.analysis: disparities, models, use of force, hot spots, the neighborhood view."""
