"""Tile arithmetic, TileJSON / tileset and OGC API documents; pure, imports only domain."""
