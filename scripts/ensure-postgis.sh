#!/usr/bin/env bash
# Make sure a PostgreSQL (>= 14) server with PostGIS is installed; install Debian's package
# when it is missing and we are root, otherwise say what to install.
set -euo pipefail

have_postgis() {
    local bindir version
    for bindir in /usr/lib/postgresql/*/bin; do
        version=$(basename "$(dirname "$bindir")")
        [[ "$version" =~ ^[0-9]+$ ]] && (( version >= 14 )) || continue
        [[ -x "$bindir/postgres" && -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]] || continue
        [[ -f "/usr/share/postgresql/$version/extension/postgis.control" ]] || continue
        [[ -f "/usr/share/postgresql/$version/extension/pg_trgm.control" ]] || continue
        return 0
    done
    return 1
}

have_postgis && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "PostgreSQL with PostGIS is not installed. Install it, then run this again:" >&2
    echo "    sudo apt-get install postgresql-postgis" >&2
    exit 1
fi

echo "Installing PostgreSQL + PostGIS from Debian's packages..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends postgresql postgresql-contrib postgresql-postgis
have_postgis || { echo "PostGIS still missing after install" >&2; exit 1; }
