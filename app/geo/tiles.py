"""Web Mercator tile arithmetic (pure): tile addresses, their bounds, the WebMercatorQuad set.

Tiles are addressed XYZ-style (``y`` counts down from the north edge), which is also the
``tileRow``/``tileCol`` order of OGC API – Tiles' WebMercatorQuad.
"""

import math
from dataclasses import dataclass
from typing import Any

from app.domain.errors import NotFound

MAX_ZOOM = 24  # the deepest tile matrix of WebMercatorQuad
EXTENT = 4096  # MVT tile coordinate extent
HALF_WORLD_M = 20037508.342789244  # pi * 6378137: half the EPSG:3857 world width
MAX_LAT = math.degrees(math.atan(math.sinh(math.pi)))  # ~85.0511, the square world's edge
TILE_PIXELS = 256  # WebMercatorQuad tile size (scale denominators refer to it)
STANDARD_PIXEL_M = 0.00028  # OGC "standardized rendering pixel size"

WEB_MERCATOR_QUAD = "WebMercatorQuad"
WMQ_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
EPSG_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"


class TileNotFound(NotFound):
    """A tile address outside the tile matrix set; names the offending path parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(
            f"{parameter}: {message}",
            errors=[{"parameter": parameter, "in": "path", "message": message}],
        )


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @property
    def size_m(self) -> float:
        """Edge length of the tile in EPSG:3857 metres."""
        return 2 * HALF_WORLD_M / (1 << self.z)

    def mercator_bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in EPSG:3857 metres."""
        size = self.size_m
        xmin = -HALF_WORLD_M + self.x * size
        ymax = HALF_WORLD_M - self.y * size
        return xmin, ymax - size, xmin + size, ymax

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees: a Mercator tile is a lon/lat box."""
        n = 1 << self.z
        west = self.x / n * 360.0 - 180.0
        east = (self.x + 1) / n * 360.0 - 180.0
        return west, tile_lat(self.y + 1, n), east, tile_lat(self.y, n)

    @property
    def is_last_column(self) -> bool:
        return self.x == (1 << self.z) - 1

    @property
    def is_last_row(self) -> bool:
        return self.y == (1 << self.z) - 1


def tile_lat(row_edge: int, n: int) -> float:
    """Latitude of the north edge of tile row ``row_edge`` in a matrix of ``n`` rows."""
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row_edge / n))))


def tile(z: int, x: int, y: int, *, names: tuple[str, str, str] = ("z", "x", "y")) -> Tile:
    """A checked tile address; 404 naming the path parameter that is out of range."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileNotFound(names[0], f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not 0 <= x < n:
        raise TileNotFound(names[1], f"column {x} is outside 0..{n - 1} at zoom {z}")
    if not 0 <= y < n:
        raise TileNotFound(names[2], f"row {y} is outside 0..{n - 1} at zoom {z}")
    return Tile(z, x, y)


def grid_cells_per_side(max_features: int) -> int:
    """Cells along a tile edge when points are counted per cell: a power of two, so cells
    nest across zooms, and at most ``max_features`` cells in all."""
    side = max(1, math.isqrt(max(1, max_features)))
    return 1 << (side.bit_length() - 1)


def tile_matrix_set() -> dict[str, Any]:
    """The OGC 2D Tile Matrix Set document of WebMercatorQuad (zooms 0..MAX_ZOOM)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * HALF_WORLD_M / TILE_PIXELS / (1 << z)
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / STANDARD_PIXEL_M,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD_M, HALF_WORLD_M],
                "tileWidth": TILE_PIXELS,
                "tileHeight": TILE_PIXELS,
                "matrixWidth": 1 << z,
                "matrixHeight": 1 << z,
            }
        )
    return {
        "id": WEB_MERCATOR_QUAD,
        "title": "Google Maps Compatible for the World",
        "uri": WMQ_URI,
        "crs": EPSG_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }
