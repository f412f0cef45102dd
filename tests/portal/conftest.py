"""The portal under test: a demo-seeded SQLite file served by uvicorn in a thread, and Debian's
Chromium driven by Playwright (no browser is downloaded; ``.ci/run`` installs ``chromium``).

Outside CI a missing Chromium or Playwright skips the browser test with the reason; in CI
(``CI=true``) it fails instead, so the browser test cannot silently stop running.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "portal"))

from qiandao_portal.app import create_app  # noqa: E402
from qiandao_portal.demo import DemoData, seed  # noqa: E402
from qiandao_portal.run import build  # noqa: E402

from qiandao import Qiandao  # noqa: E402

SCREENSHOTS = Path(os.environ.get("QIANDAO_SCREENSHOT_DIR", ROOT / "test-output" / "portal"))


@attrs.frozen
class Served:
    """A running portal: its address, the service behind it and the demo data."""

    url: str
    qd: Qiandao
    demo: DemoData


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The portal over a fresh, demo-seeded SQLite file (encrypted, with a fast hasher)."""
    import uvicorn

    folder = tmp_path_factory.mktemp("portal")
    qd, phones = build(f"sqlite:///{folder / 'portal.sqlite3'}", fast_hash=True)
    demo = seed(qd, phones)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(qd), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", qd, demo)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Qiandao, DemoData]]:
    """The service over a fresh, demo-seeded SQLite file, for tests that drive the portal
    in-process (``TestClient``): one per test module."""
    folder = tmp_path_factory.mktemp("portal-http")
    qd, phones = build(f"sqlite:///{folder / 'portal.sqlite3'}", fast_hash=True)
    yield qd, seed(qd, phones)


def chromium_path() -> str:
    """Debian's Chromium (``QIANDAO_CHROMIUM`` names another binary), or a skip saying how to
    get it; in CI a failure."""
    found = os.environ.get("QIANDAO_CHROMIUM") or shutil.which("chromium")
    if found is None:
        missing = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {missing}")
        pytest.skip(f"browser test skipped: {missing}")
    return found
