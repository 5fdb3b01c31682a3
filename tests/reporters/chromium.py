"""Drive headless Chromium over the DevTools protocol on a pipe (no port, no extra packages).

``open_page(path)`` loads a local file and returns what the page did: console messages, log
entries (CSP violations land there), uncaught exceptions, every network request, and optionally
a full-page PNG screenshot. Messages on the pipe are JSON terminated by NUL (fd 3 in, fd 4 out).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageRun:
    console: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    loaded: bool = False
    screenshot: bytes = b""
    text: str = ""

    @property
    def errors(self) -> list[str]:
        out = [
            f"console.{m['type']}: {m.get('args')}"
            for m in self.console
            if m["type"] in ("error", "assert", "warning")
        ]
        out += [
            f"log {e['level']}: {e['text']}" for e in self.log if e["level"] in ("error", "warning")
        ]
        out += [f"exception: {e.get('exceptionDetails', {}).get('text')}" for e in self.exceptions]
        return out


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        return self.next_id

    def receive(self) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        ident = self.send(method, params, session)
        while True:
            message = self.receive()
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)


def open_page(
    path: Path, *, screenshot: bool = False, width: int = 1100, timeout: float = 30.0
) -> PageRun:
    """Load ``path`` in a fresh headless Chromium and report what happened."""
    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError("chromium")
    profile = tempfile.mkdtemp(prefix="kw-chromium-")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire_fds() -> None:  # runs in the child: the protocol wants fd 3 (in) and fd 4 (out)
        os.dup2(to_browser_r, 100)  # park first: the pipe ends may themselves be fds 3 and 4
        os.dup2(from_browser_w, 101)
        os.dup2(100, 3)
        os.dup2(101, 4)

    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        pass_fds=(3, 4),
        preexec_fn=wire_fds,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_browser_r)
    os.close(from_browser_w)
    run = PageRun()
    pipe = _Pipe(to_browser_w, from_browser_r, time.monotonic() + timeout)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        pipe.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        while not any(e.get("method") == "Page.loadEventFired" for e in pipe.events):
            pipe.events.append(pipe.receive())
        run.loaded = True
        time.sleep(0.3)  # let late console/log events arrive
        run.text = pipe.call(
            "Runtime.evaluate",
            {"expression": "document.body.innerText", "returnByValue": True},
            session=session,
        )["result"].get("value", "")
        if screenshot:
            shot = pipe.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
            )
            run.screenshot = base64.b64decode(shot["data"])
        with contextlib.suppress(EOFError, RuntimeError):
            pipe.call("Browser.close")
    finally:
        os.close(to_browser_w)
        os.close(from_browser_r)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            run.console.append(
                {"type": params["type"], "args": [a.get("value") for a in params.get("args", [])]}
            )
        elif method == "Log.entryAdded":
            run.log.append(params["entry"])
        elif method == "Runtime.exceptionThrown":
            run.exceptions.append(params)
        elif method == "Network.requestWillBeSent":
            run.requests.append(params["request"]["url"])
    return run
