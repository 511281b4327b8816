"""Tile arithmetic and grid planning: pure functions checked against pyproj and by hand."""

import itertools
import math
from datetime import UTC, datetime

import pyproj
import pytest

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox
from app.geo.tiles import MAX_LAT, TileNotFound, grid_cells_per_side, tile, tile_matrix_set
from app.services.mapdata import bucket_end, plan_grid
from app.web.problems import status_of

TO_MERCATOR = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)


@pytest.mark.parametrize(("z", "x", "y"), [(0, 0, 0), (3, 4, 2), (6, 38, 21), (12, 2446, 1383)])
def test_lonlat_and_mercator_bounds_agree(z: int, x: int, y: int) -> None:
    t = tile(z, x, y)
    west, south, east, north = t.lonlat_bounds()
    xmin, ymin, xmax, ymax = t.mercator_bounds()
    px, py = TO_MERCATOR.transform([west, east], [south, north])
    assert px == pytest.approx([xmin, xmax], abs=1e-6)
    assert py == pytest.approx([ymin, ymax], abs=1e-6)


def test_world_tile_reaches_the_mercator_latitude_limit() -> None:
    assert tile(0, 0, 0).lonlat_bounds() == pytest.approx((-180, -MAX_LAT, 180, MAX_LAT))
    assert pytest.approx(85.0511287798) == MAX_LAT


@pytest.mark.parametrize(
    ("z", "x", "y", "parameter"),
    [(-1, 0, 0, "z"), (25, 0, 0, "z"), (2, 4, 0, "x"), (2, -1, 0, "x"), (2, 0, 4, "y")],
)
def test_out_of_range_tiles_name_the_parameter(z: int, x: int, y: int, parameter: str) -> None:
    with pytest.raises(TileNotFound) as caught:
        tile(z, x, y)
    assert status_of(caught.value) == 404
    assert caught.value.errors[0]["parameter"] == parameter
    assert caught.value.errors[0]["in"] == "path"


@pytest.mark.parametrize(("cap", "side"), [(1, 1), (3, 1), (4, 2), (20, 4), (4096, 64), (5000, 64)])
def test_grid_cells_never_exceed_the_cap(cap: int, side: int) -> None:
    assert grid_cells_per_side(cap) == side
    assert side * side <= cap


def test_tile_matrix_set_halves_the_cell_size_each_zoom() -> None:
    matrices = tile_matrix_set()["tileMatrices"]
    assert len(matrices) == 25
    for coarse, fine in itertools.pairwise(matrices):
        assert fine["cellSize"] == pytest.approx(coarse["cellSize"] / 2)
        assert fine["matrixWidth"] == 2 * coarse["matrixWidth"]


def test_grid_plan_scales_the_cell_by_latitude() -> None:
    plan = plan_grid(BBox(30, 40, 40, 60), 10, "hexagon", 100_000)
    assert plan.size_m == pytest.approx(10_000 / math.cos(math.radians(50)))
    world = plan_grid(BBox(-180, -90, 180, 90), 2000, "square", 100_000)
    assert (world.box.min_lat, world.box.max_lat) == (-MAX_LAT, MAX_LAT)


@pytest.mark.parametrize(
    ("box", "size", "parameter"),
    [
        (None, 10.0, "bbox"),
        (BBox(170, 0, -170, 10), 10.0, "bbox"),
        (BBox(0, 86, 10, 89), 10.0, "bbox"),
        (BBox(-180, -90, 180, 90), 5.0, "size"),
    ],
)
def test_grid_plan_rejects(box: BBox | None, size: float, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        plan_grid(box, size, "square", 20_000)
    assert caught.value.parameter == parameter


def test_bucket_ends() -> None:
    assert bucket_end(datetime(2024, 12, 1, tzinfo=UTC), "month") == datetime(
        2025, 1, 1, tzinfo=UTC
    )
    assert bucket_end(datetime(2024, 2, 1, tzinfo=UTC), "month") == datetime(2024, 3, 1, tzinfo=UTC)
    assert bucket_end(datetime(2024, 2, 26, tzinfo=UTC), "week") == datetime(2024, 3, 4, tzinfo=UTC)
