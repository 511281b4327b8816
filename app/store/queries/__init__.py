"""Pure SQL builders (no I/O): filter objects in, SQLAlchemy statements out.

PostgreSQL builds each feature's GeoJSON text; Python only streams it.
"""
