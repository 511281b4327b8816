"""A server others can reach refuses the built-in secret, naming the setting to provide; on
loopback it runs as before (`frontline serve`)."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from app.settings import DEFAULT_SECRETS, Settings, default_secrets, is_loopback
from tests.conftest import free_port

SERVE = [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--no-seed"]
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 (what a container listens on: the case under test)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.5", True), ("::1", True), ("localhost", True),
    (EVERY_INTERFACE, False), ("::", False), ("10.1.2.3", False), ("api.example.org", False),
])  # fmt: skip
def test_what_counts_as_this_machine_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_only_the_built_in_pepper_is_a_default_secret() -> None:
    assert default_secrets(Settings(key_pepper="frontline")) == ["FRONTLINE_KEY_PEPPER"]
    assert default_secrets(Settings(key_pepper="s3cret-of-this-deployment")) == []


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DEFAULT_SECRETS}
    return {**env, **extra}


def test_listening_beyond_loopback_with_the_built_in_pepper_is_refused(seeded_url: str) -> None:
    done = subprocess.run([*SERVE, "--host", EVERY_INTERFACE, "--port", str(free_port())],
                          env=_env(DATABASE_URL=seeded_url), capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "frontline serve: listening on 0.0.0.0 needs your own secret: set FRONTLINE_KEY_PEPPER "
        "(it is the built-in value, which anyone can read in the source); on this machine "
        "alone, --host 127.0.0.1 runs without it"
    )


def test_with_its_own_pepper_it_listens_beyond_loopback(seeded_url: str) -> None:
    port = free_port()
    env = _env(DATABASE_URL=seeded_url, FRONTLINE_KEY_PEPPER="s3cret-of-this-deployment")
    process = subprocess.Popen([*SERVE, "--host", EVERY_INTERFACE, "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as ok:
                    assert ok.status == 200
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
