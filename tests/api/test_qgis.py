"""Debian's QGIS (3.22, `python3-qgis`), headless, against a live server: both collections
load, page through the cursor links, restrict by a box, filter, and render; the server's own
answers are the oracle, its access log shows what QGIS sent (tests/qgis/drive.py)."""

import json
import os
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import event_properties, live_server

SYSTEM_PYTHON = "/usr/bin/python3"
DRIVER = Path(__file__).resolve().parents[1] / "qgis" / "drive.py"
BOX = "35.0,50.8,35.8,51.3"
PAGE = 10  # small pages, so the seeded events take several


def _has_qgis() -> bool:
    probe = [SYSTEM_PYTHON, "-c", "import qgis.core"]
    return (
        Path(SYSTEM_PYTHON).exists() and subprocess.run(probe, capture_output=True).returncode == 0
    )


pytestmark = pytest.mark.skipif(not _has_qgis(), reason="Debian's python3-qgis is not installed "
                                "(scripts/ensure-test-tools.sh installs it)")  # fmt: skip


def _keys(base: str, query: str) -> list[str]:
    return sorted(f"{p['dataset']}:{p['external_id']}" for p in event_properties(base, query))


def _arrays(base: str, query: str) -> dict[str, dict[str, object]]:
    return {f"{p['dataset']}:{p['external_id']}": {
        "actors": p["actors"], "tags": p["tags"],
        "sources": sorted(c["source"] for c in p["citations"])}
        for p in event_properties(base, query)}  # fmt: skip


def _drive(base: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([SYSTEM_PYTHON, str(DRIVER), base, str(out), str(PAGE)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.stdout.strip(), done.stderr[-2000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_debian_qgis_loads_pages_restricts_filters_and_renders(
    seeded_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    with live_server(seeded_url, access_log=log) as base:
        report = _drive(base, tmp_path)
        every, boxed = _keys(base, ""), _keys(base, f"bbox={BOX}")
        shelling = _keys(base, "event_type=shelling")
        arrays = _arrays(base, f"bbox={BOX}")
    assert report["qgis"].startswith("3.22")
    assert report["events"] == every and report["feature_count"] == len(every)
    assert report["boxed"] == boxed and 0 < len(boxed) < len(every)
    assert report["shelling"] == shelling and shelling
    assert report["places"] > 0
    # What a 3.22 user sees of actors, tags and sources through the export (OGR provider).
    assert report["sources_and_actors"] == arrays
    assert any(seen["actors"] and seen["sources"] for seen in arrays.values())
    assert report["painted_pixels"] > 0  # the points were drawn
    assert (tmp_path / "events.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [urllib.parse.unquote(line) for line in log.read_text().splitlines()]
    sent = [line for line in lines if '"GET /collections' in line]  # QGIS's (the oracle: /events)
    pages = [line for line in sent if "/collections/events/items?" in line]
    assert any("cursor=" in line for line in pages)  # it followed the next links
    assert all(f"limit={PAGE}" in line for line in pages if "cursor=" in line)
    # QGIS 3.22 evaluates attribute filters itself: none reached the server.
    assert not any("filter=" in line or "event_type=" in line for line in sent)
