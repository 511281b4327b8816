"""Drive Debian's QGIS (3.22, headless) against a live Frontline, as a user would.

Run by the system Python, which has QGIS's bindings (`python3-qgis`), not by the project's:
`QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis/drive.py BASE_URL OUT_DIR PAGE_SIZE`.
It loads both collections through QGIS's OGC API – Features provider, pages through every Feature,
restricts by a box, filters by an attribute, renders the events to a PNG and reads actors and
sources the way a 3.22 user can (the export through the OGR provider), then prints what
it saw as one JSON document for tests/api/test_qgis.py to check against the server.
"""

import json
import os
import sys
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

BOX = (35.0, 50.8, 35.8, 51.3)  # around Sudzha and Demidovka


def layer(base: str, name: str, page: int) -> QgsVectorLayer:
    found = QgsVectorLayer(f"url='{base}' typename='{name}' pageSize='{page}'", name, "OAPIF")
    if not found.isValid():
        raise SystemExit(f"QGIS could not load the {name} collection: {found.error().summary()}")
    return found


def keys(features: object) -> list[str]:
    """Each event's dataset and id there: QGIS numbers features itself."""
    return sorted(f"{f.attribute('dataset')}:{f.attribute('external_id')}" for f in features)  # type: ignore[attr-defined]


def sources_and_actors(base: str) -> dict[str, dict[str, object]]:
    """The way to see actors, tags and citations in 3.22, whose OAPIF provider shows arrays as
    empty: the export's GeoJSON through the OGR provider (Layer > Add Vector Layer > Protocol),
    which reads string arrays as string lists and the citations as JSON."""
    box = ",".join(map(str, BOX))
    export = QgsVectorLayer(f"{base}/events/export?f=geojson&bbox={box}", "export", "ogr")
    if not export.isValid():
        raise SystemExit(f"QGIS could not load the export: {export.error().summary()}")
    seen: dict[str, dict[str, object]] = {}
    for feature in export.getFeatures():
        key = f"{feature.attribute('dataset')}:{feature.attribute('external_id')}"
        seen[key] = {name: feature.attribute(name) or [] for name in ("actors", "tags")}
        seen[key]["sources"] = sorted(c["source"] for c in feature.attribute("citations") or [])
    return seen


def render(events: QgsVectorLayer, path: Path) -> int:
    """Render the events layer to a PNG; how many pixels are not the background."""
    settings = QgsMapSettings()
    settings.setLayers([events])
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setOutputSize(QSize(400, 300))
    settings.setExtent(QgsRectangle(*BOX))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(path), "PNG")
    white = QColor(255, 255, 255).rgb()
    return sum(
        1 for x in range(image.width()) for y in range(image.height()) if image.pixel(x, y) != white
    )


def main(base: str, out: Path, page: int) -> None:
    app = QgsApplication([], False)
    app.initQgis()
    try:
        events, places = layer(base, "events", page), layer(base, "places", page)
        every = list(events.getFeatures())
        boxed = list(events.getFeatures(QgsFeatureRequest().setFilterRect(QgsRectangle(*BOX))))
        shelling = list(
            events.getFeatures(
                QgsFeatureRequest().setFilterExpression("\"event_type\" = 'shelling'")
            )
        )
        first = every[0] if every else None
        report = {
            "qgis": Qgis.QGIS_VERSION,
            "fields": events.fields().names(),
            "events": keys(every),
            "places": len(list(places.getFeatures())),
            "boxed": keys(boxed),
            "shelling": keys(shelling),
            "feature_count": events.featureCount(),
            "first": {name: str(first.attribute(name)) for name in events.fields().names()}
            if first
            else {},
            "painted_pixels": render(events, out / "events.png"),
            "sources_and_actors": sources_and_actors(base),
        }
        print(json.dumps(report), flush=True)
    finally:
        os._exit(0)  # exitQgis() of 3.22 can crash on the way out; the report is written


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
