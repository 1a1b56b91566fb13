"""Real headless Chromium driven over the DevTools protocol (websocket-client): open a page, log in through
its form as a person would, read the DOM the page's script built, take a screenshot.

Every wait is bounded; the browser is a child process ended at the end of the ``with`` block.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import websocket

from tests.support import require_tool

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1280,1000"]


class Browser:
    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(method)

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def wait(self, condition: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.js(f"!!({condition})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{condition} not true after {timeout}s")
            time.sleep(0.1)

    def settled_dom(self, timeout: float = 15.0) -> str:
        """The DOM once it stopped changing for a second (the page's requests answered)."""
        deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
        while time.monotonic() < deadline:
            dom = self.js("document.documentElement.outerHTML")
            if dom != last:
                last, since = dom, time.monotonic()
            elif time.monotonic() - since >= 1.0:
                break
            time.sleep(0.1)
        return last or ""

    def log_in(self, name: str, password: str) -> None:
        """Type name and password into the page's login form and submit it."""
        self.wait("!document.getElementById('login').hidden || !document.getElementById('main').hidden")
        self.js(f"""(() => {{ const f = document.getElementById('login-form');
            f.name.value = {json.dumps(name)}; f.password.value = {json.dumps(password)};
            f.requestSubmit(); }})()""")
        self.wait("!document.getElementById('main').hidden || document.getElementById('login-error').textContent")

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))


@contextmanager
def chromium_page(tmp_path: Path) -> Iterator[Browser]:
    binary = require_tool("chromium")
    proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port, deadline = None, time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
            elif not line and proc.poll() is not None:
                break
        assert port, "chromium did not start its DevTools endpoint"
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        try:
            browser = Browser(ws)
            browser.send("Page.enable")
            browser.send("Runtime.enable")
            yield browser
        finally:
            ws.close()
    finally:
        proc.kill()
        proc.wait(10)


def without_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``http://user:pw@host/x`` -> (``http://host/x``, (user, pw))."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), (parts.username, parts.password or "")


def chromium(tmp_path: Path, url: str, *extra: str) -> str:
    """The page at ``url`` after logging in through its form with the URL's user and password (as a person
    would: browsers do not send a URL's credentials to a page that does not ask for HTTP Basic). Returns the
    settled DOM; ``--screenshot=PATH`` also saves a screenshot."""
    plain, credentials = without_credentials(url)
    with chromium_page(tmp_path) as browser:
        browser.open(plain)
        if credentials:
            browser.log_in(*credentials)
            browser.open(plain)
        dom = browser.settled_dom()
        for option in extra:
            if option.startswith("--screenshot="):
                browser.screenshot(Path(option.split("=", 1)[1]))
        return dom
