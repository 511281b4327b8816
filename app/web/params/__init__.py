"""Reusable FastAPI dependencies that turn query text into frozen filter objects."""
