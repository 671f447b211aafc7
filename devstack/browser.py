"""Headless Chromium for the kiosk test: installing it, and driving it over the Chrome
DevTools Protocol (CDP) with the `websockets` client the test extra already has.

`python -m devstack.browser` (the Makefile's `browser` step) installs Debian's chromium (and a
CJK font, so screenshots show the Chinese text) with apt-get when /usr/bin/chromium is missing
and this is a root shell with apt-get, as on CI; anywhere else it says what to do and exits 0,
and the kiosk test then skips with the same message. Nothing is downloaded at test time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without a CJK font the screenshots show boxes for the Chinese text (the test still passes).
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
APT_PACKAGES = ("chromium", "fonts-wqy-microhei")
LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)
MISSING = (
    "Chromium is not installed (looked for {paths}). Run `make browser` as root on Debian "
    "(apt-get install -y chromium fonts-wqy-microhei), or install Chromium yourself."
)


def find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def missing_message() -> str:
    return MISSING.format(paths=", ".join(CHROMIUM_CANDIDATES))


def ensure_chromium() -> str | None:
    """Chromium's path, installing it (and the font) with apt-get where that is possible:
    root on Debian. Elsewhere it says what is missing and returns what there is."""
    found = find_chromium()
    if found and CJK_FONT.exists():
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        if found:
            print(
                f"devstack.browser: no CJK font ({CJK_FONT}): screenshots show boxes for "
                "Chinese text; apt-get install fonts-wqy-microhei",
                file=sys.stderr,
            )
        else:
            print(f"devstack.browser: {missing_message()}", file=sys.stderr)
        return found
    print(f"devstack.browser: installing {' '.join(APT_PACKAGES)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES],
            check=True,
            env=env,
        )
    except subprocess.CalledProcessError as exc:
        print(
            f"devstack.browser: apt-get failed ({exc}); the kiosk test will skip", file=sys.stderr
        )
    found = find_chromium()
    if found is None:
        print(f"devstack.browser: {missing_message()}", file=sys.stderr)
    return found


class CDPError(RuntimeError):
    pass


class Page:
    """One page target over a CDP websocket: commands, events and a few conveniences.

    Events that arrive while waiting for a command's answer are kept for `wait_event`, or
    handed to a handler registered with `on` (which may send commands of its own)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.console_errors: list[str] = []

    def on(self, method: str, handler: Callable[[dict[str, Any]], None] | None) -> None:
        if handler is None:
            self._handlers.pop(method, None)
        else:
            self._handlers[method] = handler

    def post(self, method: str, params: dict[str, Any] | None = None) -> int:
        """Sends a command without waiting for its answer."""
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params or {}}))
        return self._next_id

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        sent = self.post(method, params)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message is None:
                raise CDPError(f"{method}: no answer in {timeout}s")
            if message.get("id") == sent:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message that is a command's answer; events are dispatched on the way."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                raw = self._ws.recv(timeout=remaining)
            except TimeoutError:
                return None
            message: dict[str, Any] = json.loads(raw)
            if "method" not in message:
                return message
            self._dispatch(message)

    def _dispatch(self, event: dict[str, Any]) -> None:
        method = event["method"]
        if method == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            self.console_errors.append(
                details.get("exception", {}).get("description") or details.get("text", "")
            )
        elif method == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
            entry = event["params"]["entry"]
            self.console_errors.append(f"{entry.get('source')}: {entry.get('text')}")
        elif method == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
            args = event["params"].get("args", [])
            self.console_errors.append(" ".join(str(a.get("value", "")) for a in args))
        handler = self._handlers.get(method)
        if handler is not None:
            handler(event["params"])
        else:
            self._events.append(event)

    def pump(self, seconds: float) -> None:
        """Handles events for a while (handlers registered with `on` run meanwhile)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self._receive(deadline)
            if message is None:
                return

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == method:
                    del self._events[i]
                    params: dict[str, Any] = event["params"]
                    return params
            if self._receive(deadline) is None and time.monotonic() >= deadline:
                raise CDPError(f"no {method} event in {timeout}s")

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.1) -> Any:
        """The first truthy value of `expression`, polled (events handled in between)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise CDPError(f"timed out after {timeout}s waiting for {expression!r}")
            self.pump(interval)

    def navigate(self, url: str) -> None:
        self._load(lambda: self.send("Page.navigate", {"url": url}))

    def reload(self) -> None:
        self._load(lambda: self.send("Page.reload"))

    def _load(self, start: Callable[[], Any]) -> None:
        """Starts a navigation and waits until the new document has loaded (a mark left on
        the old one tells them apart)."""
        self.evaluate("window.__cdpOldDocument = true")
        start()
        self.wait_for("!window.__cdpOldDocument && document.readyState === 'complete'")

    def set_viewport(self, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
                "screenOrientation": {
                    "type": "portraitPrimary" if height > width else "landscapePrimary",
                    "angle": 0 if height > width else 90,
                },
            },
        )

    def tap(self, selector: str) -> None:
        """A touch on the middle of the first element matching `selector`."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        point = {"x": box[0], "y": box[1]}
        self.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        self.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def screenshot(self, path: Path | None = None, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": False}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return data


@contextlib.contextmanager
def chromium(binary: str) -> Iterator[Page]:
    """A fresh headless Chromium (its own temporary profile) and its first page, with
    runtime, log and touch emulation on; closed and cleaned up afterwards."""
    import httpx
    from websockets.sync.client import connect

    profile = Path(tempfile.mkdtemp(prefix="anju-chromium-"))
    proc = subprocess.Popen(
        [
            binary,
            *LAUNCH_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CDPError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(ws_url, max_size=64 * 1024 * 1024, open_timeout=10) as ws:
            page = Page(ws)
            for domain in ("Page", "Runtime", "Log"):
                page.send(f"{domain}.enable")
            page.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
            yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    path = ensure_chromium()
    if path:
        version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        print(f"devstack.browser: {version.strip() or path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
