#!/usr/bin/env bash
# Tools the test suite drives as real clients: GDAL's ogrinfo/ogr2ogr (OGC API - Features,
# GeoJSON and CSV readers), PgBouncer (tests/cluster), Chromium (the /map page, through
# Playwright) and QGIS 3.22 with its Python bindings for the system Python (tests/api/test_qgis.py, headless). Installed from
# Debian's packages when missing and we are root.
set -euo pipefail
missing=()
command -v ogr2ogr >/dev/null && command -v ogrinfo >/dev/null || missing+=(gdal-bin)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
/usr/bin/python3 -c "import qgis.core" 2>/dev/null || missing+=(python3-qgis qgis-providers)
(( ${#missing[@]} == 0 )) && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "The tests need: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
