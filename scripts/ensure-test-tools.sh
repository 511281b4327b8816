#!/usr/bin/env bash
# Tools the test suite drives as real clients: GDAL's ogrinfo/ogr2ogr (OGC API - Features,
# GeoJSON and CSV readers). Installed from Debian's packages when missing and we are root.
set -euo pipefail
command -v ogr2ogr >/dev/null && command -v ogrinfo >/dev/null && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "GDAL is needed by the tests: sudo apt-get install gdal-bin" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends gdal-bin
