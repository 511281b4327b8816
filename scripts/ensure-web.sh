#!/usr/bin/env bash
# The map page's browser assets from the npm registry, at the versions pinned in package-lock.json,
# into app/web/static/vendor/ where the app serves them (no CDN at run time): MapLibre GL JS, and
# the country outlines of Natural Earth (world-atlas) as GeoJSON.
# Installs Debian's nodejs + npm when they are missing and we are root. A second run with the
# same lock file does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=app/web/static/vendor
FILES=(maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css countries.geojson)
STAMP="$VENDOR/.package-lock.sha256"

lock_sum() { sha256sum package-lock.json | cut -d' ' -f1; }

up_to_date() {
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(lock_sum)" ]] || return 1
    local file
    for file in "${FILES[@]}"; do [[ -s "$VENDOR/$file" ]] || return 1; done
}

up_to_date && exit 0

if ! command -v npm >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "npm is needed to install the map's library: sudo apt-get install nodejs npm" >&2
        exit 1
    fi
    echo "Installing Node.js and npm from Debian's packages..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends nodejs npm
fi

# --ignore-scripts: nothing is built here, the package ships its browser bundles.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
mkdir -p "$VENDOR"
for file in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
    cp "node_modules/maplibre-gl/dist/$file" "$VENDOR/$file"
done
cp node_modules/maplibre-gl/LICENSE.txt "$VENDOR/maplibre-gl.LICENSE.txt"
# Country outlines under the map, offline: Natural Earth 1:110m (public domain) from world-atlas,
# its TopoJSON turned into GeoJSON once here, so the page needs no converter and no tile server.
node -e '
const topojson = require("topojson-client");
const world = require("world-atlas/countries-110m.json");
process.stdout.write(JSON.stringify(topojson.feature(world, world.objects.countries)));
' >"$VENDOR/countries.geojson"
lock_sum >"$STAMP"
echo "MapLibre GL JS $(node -p 'require("./node_modules/maplibre-gl/package.json").version') installed in $VENDOR/"
