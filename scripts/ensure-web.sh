#!/usr/bin/env bash
# The map page's browser library: MapLibre GL JS from the npm registry, at the version pinned in
# package-lock.json, copied into app/web/static/vendor/ where the app serves it (no CDN at run time).
# Installs Debian's nodejs + npm when they are missing and we are root. A second run with the
# same lock file does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=app/web/static/vendor
FILES=(maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css)
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
for file in "${FILES[@]}"; do
    cp "node_modules/maplibre-gl/dist/$file" "$VENDOR/$file"
done
cp node_modules/maplibre-gl/LICENSE.txt "$VENDOR/maplibre-gl.LICENSE.txt"
lock_sum >"$STAMP"
echo "MapLibre GL JS $(node -p 'require("./node_modules/maplibre-gl/package.json").version') installed in $VENDOR/"
