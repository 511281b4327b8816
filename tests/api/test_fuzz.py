"""Schemathesis against Frontline's own OpenAPI document: every route, reads and writes.

A bounded, seeded run here (CI); `make soak` runs the long one. Checks: no 5xx, and every
status code, content type, header and body the document promises.
"""

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.domain.vocab import Scope
from app.ingest.seed import seed
from app.services.keys import create_key
from app.store.engine import make_engine
from tests.conftest import live_server, settings_for

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")  # fmt: skip
EXAMPLES = int(os.environ.get("FRONTLINE_FUZZ_EXAMPLES", "8"))


async def _seed_and_key(url: str) -> str:
    engine = make_engine(url, settings_for(url))
    try:
        await seed(engine)
        return await create_key(engine, settings_for(url), "fuzzer", Scope.WRITE)
    finally:
        await engine.dispose()


@pytest.mark.skipif(shutil.which("schemathesis", path=str(Path(sys.executable).parent)) is None,
                    reason="schemathesis is not installed")  # fmt: skip
def test_the_whole_api_survives_fuzzing(fresh_url: str, tmp_path: Path) -> None:
    # Its own database: the fuzzer writes, and the shared seeded one must stay as seeded.
    key = asyncio.run(_seed_and_key(fresh_url))
    tool = str(Path(sys.executable).parent / "schemathesis")
    with live_server(fresh_url) as base:
        result = subprocess.run(
            [tool, "run", f"{base}/openapi.json", "--header", f"Authorization: Bearer {key}",
             "--max-examples", str(EXAMPLES), "--seed", "20250318", "--checks", CHECKS,
             "--exclude-path-regex", "^/(map|static)", "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    print(summary[-600:])  # the counts, for the record (pytest -s)
