"""The OpenAPI contract: schemathesis (`--checks all`) against Frontline's own document, every
operation, reads and writes, on a throwaway database.

A bounded, seeded run here; `make soak` runs a long one. Every check is on: no 5xx; every
status, content type, header and body the document promises; every request the document
calls valid is accepted and every one it calls invalid is refused; 405s carry Allow. What the
document can only say in words is handed to schemathesis by tests/contract/ (hooks.py and
schemathesis.toml), each rule with its reason.
"""

import asyncio
import os
import re
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

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "contract" / "schemathesis.toml"
EXAMPLES = int(os.environ.get("FRONTLINE_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("FRONTLINE_FUZZ_SEED", "20250318")
# Writes are not rate limited here: a limited operation answers 429 and goes untested.
UNLIMITED = {"FRONTLINE_WRITES_PER_MINUTE_PER_KEY": "0", "FRONTLINE_WRITES_PER_MINUTE_PER_IP": "0"}


async def _seed_and_key(url: str) -> str:
    engine = make_engine(url, settings_for(url))
    try:
        await seed(engine)
        return await create_key(engine, settings_for(url), "fuzzer", Scope.WRITE)
    finally:
        await engine.dispose()


def run_schemathesis(url: str, report_dir: Path, examples: int, seed: str) -> tuple[int, str]:
    """Seed ``url``, serve it, and run every schemathesis check over every operation."""
    key = asyncio.run(_seed_and_key(url))
    tool = str(Path(sys.executable).parent / "schemathesis")
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # for the hooks module
    with live_server(url, settings=UNLIMITED) as base:
        result = subprocess.run(
            [tool, "--config-file", str(CONFIG), "run", f"{base}/openapi.json",
             "--header", f"Authorization: Bearer {key}", "--checks", "all",
             "--max-examples", str(examples), "--seed", seed,
             "--exclude-path-regex", "^/(map|static)", "--report-dir", str(report_dir)],
            capture_output=True, text=True, timeout=1800, check=False, cwd=REPO, env=env,
        )  # fmt: skip
    return result.returncode, result.stdout


@pytest.mark.skipif(shutil.which("schemathesis", path=str(Path(sys.executable).parent)) is None,
                    reason="schemathesis is not installed")  # fmt: skip
def test_the_document_is_exactly_what_the_server_accepts(fresh_url: str, tmp_path: Path) -> None:
    # Its own database: the fuzzer writes, and the shared seeded one must stay as seeded.
    code, output = run_schemathesis(fresh_url, tmp_path, EXAMPLES, SEED)
    summary = output[-6000:]
    assert code == 0, summary
    assert re.search(r"Tested: +4\d\b", output), summary  # every operation, not a few
    assert re.search(r"(\d+) generated, \1 passed", output), summary
    print(summary[-600:])  # the counts, for the record (pytest -s)
