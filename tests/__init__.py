"""The test suite; it mirrors the layout of geo/."""
