"""Frontline: a conflict-event geospatial API."""
