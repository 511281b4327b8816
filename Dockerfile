# Frontline API image. The database comes from DATABASE_URL (see compose.yaml); the start
# command is the same `frontline serve` that `make run` uses: migrate, seed, serve.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FRONTLINE_HOST=0.0.0.0 FRONTLINE_PORT=8000

WORKDIR /srv/frontline
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seeds ./seeds
# Editable install keeps migrations/ and seeds/ beside the package, where the app looks.
RUN pip install -e . && useradd --system --uid 10001 --home-dir /srv/frontline frontline
USER frontline

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["frontline", "serve", "--host", "0.0.0.0", "--port", "8000"]
