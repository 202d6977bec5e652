"""Browser tests: Playwright drives Debian's Chromium against a live server.

Skipped when /usr/bin/chromium (or Playwright) is absent, so the README test
command passes anywhere; .ci/run installs Chromium and runs them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("RECOURS_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_config() -> dict[str, Any]:
    """Extra configuration of the served app (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def live_server(app: Flask, make_app: Any, live_config: dict[str, Any]) -> Iterator[str]:
    """The app served on a free local port, CSRF on, same database and keys as ``app``."""
    served = make_app(WTF_CSRF_ENABLED=True, **live_config)
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: str, tmp_path: Path) -> Iterator[Any]:
    """A French-speaking browser tab; fails the test on any CSP violation or script error."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
    context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert csp == [], csp
    assert problems == [], problems


AXE = Path(__file__).resolve().parents[2] / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def check_accessibility() -> Any:
    """Run axe-core in the page (WCAG 2.1 A and AA rules); fail on serious or critical violations.

    The script is evaluated through the DevTools protocol, not injected as a
    <script>, so the page's CSP stays exactly as served.
    """
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core missing at {AXE}: run make test (it installs it with npm)")
        pytest.skip("axe-core not installed (npm missing)")
    source = AXE.read_text(encoding="utf-8")

    def check(page: Any, what: str) -> None:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{what}: {bad}"

    return check
