"""`frontline backup FILE` / `frontline restore FILE`: pg_dump's custom format, both ways.

The dump holds everything (schema, extensions, data, revision history, keys' hashes), so a
restore into an empty database gives back the service exactly as it was.
"""

import shutil
import subprocess
from pathlib import Path

from app.store import devdb


class BackupError(RuntimeError):
    pass


def libpq_url(url: str) -> str:
    """The URL as PostgreSQL's own tools read it (no SQLAlchemy driver suffix)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}" if scheme.startswith("postgres") else url


def _tool(name: str) -> str:
    try:
        return str(devdb.find_bindir() / name)
    except devdb.DevDbError:
        found = shutil.which(name)
        if found is None:
            raise BackupError(f"{name} not found: install PostgreSQL's client tools") from None
        return found


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        # The tools' messages name objects, never data or passwords.
        raise BackupError(result.stderr.strip().splitlines()[-1] if result.stderr else "failed")


def backup(url: str, target: Path) -> None:
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
          "--dbname", libpq_url(url)])  # fmt: skip


def restore(url: str, source: Path) -> None:
    """Into an empty database (or over an old copy: --clean drops what the dump recreates)."""
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error",
          "--single-transaction", "--dbname", libpq_url(url), str(source)])  # fmt: skip
