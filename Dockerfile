# Frontline API image. The database comes from DATABASE_URL (see compose.yaml); the start
# command is the same `frontline serve` that `make run` uses: migrate, seed, serve.

# The map page's library and country outlines, from the npm registry at the versions
# package-lock.json pins (the same files scripts/ensure-web.sh writes for `make run`).
FROM node:20-slim AS web
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
    && mkdir vendor \
    && cp node_modules/maplibre-gl/dist/maplibre-gl.mjs \
          node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs \
          node_modules/maplibre-gl/dist/maplibre-gl.css vendor/ \
    && cp node_modules/maplibre-gl/LICENSE.txt vendor/maplibre-gl.LICENSE.txt \
    && node -e 'const t = require("topojson-client"), w = require("world-atlas/countries-110m.json"); \
                process.stdout.write(JSON.stringify(t.feature(w, w.objects.countries)));' \
       > vendor/countries.geojson

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FRONTLINE_HOST=0.0.0.0 FRONTLINE_PORT=8000

WORKDIR /srv/frontline
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seeds ./seeds
COPY mappings ./mappings
COPY --from=web /build/vendor ./app/web/static/vendor
# Editable install keeps migrations/ and seeds/ beside the package, where the app looks.
RUN pip install -e . && useradd --system --uid 10001 --home-dir /srv/frontline frontline
USER frontline

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["frontline", "serve", "--host", "0.0.0.0", "--port", "8000"]
