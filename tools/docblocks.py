"""Run the code blocks of docs/flask_keywire.md (and README's flask_keywire section) as written.

Every fenced ``python`` or ``sh`` block is run, unless the HTML comment on the line above it says
otherwise (``<!-- docs-test: KIND (reason) -->``):

* ``file NAME`` (python): written to NAME in the working directory, then run like the others;
* ``quickstart`` / ``quickstart install`` (sh): the Quick start's shell steps, run in order by one
  bash script in a fresh directory (``install`` steps only with ``--install``: they make a
  virtual environment and install keywire from ``$KEYWIRE_CHECKOUT``);
* ``compile (reason)`` (python): compiled, not run;
* ``cli`` (sh): a synopsis of ``flask keywire``; the tests check every subcommand and option;
* ``skip (reason)``: not run; the reason names the test that covers it.

Python blocks of one document run in order, in one namespace, in a fresh directory with
``KEYWIRE_PEPPER`` set, as a reader following the page would.

    python tools/docblocks.py quickstart DIR [--install]   # the Quick start, literally
    python tools/docblocks.py python DIR                    # the Python blocks

The Quick start's fixed port (8443) is replaced by ``--port`` when given, so that runs on a busy
machine do not collide.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "flask_keywire.md"
README = ROOT / "README.md"
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[\w-]+)\s*(?P<rest>.*?)\s*-->")
_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")


@dataclass(frozen=True)
class Block:
    path: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    kind: str  # run, file, quickstart, compile, cli, skip
    detail: str  # file name, "install", or the reason


def blocks(path: Path, *, section: tuple[str, str] | None = None) -> list[Block]:
    """The fenced blocks of ``path`` (between the ``section`` markers, if given)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start, end = 0, len(lines)
    if section is not None:
        start = next(i for i, line in enumerate(lines) if section[0] in line)
        end = next(i for i, line in enumerate(lines) if section[1] in line and i > start)
    found: list[Block] = []
    i = start
    while i < end:
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        opening = i
        i += 1
        body = []
        while i < end and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        marker = _MARKER.search(lines[opening - 1]) if opening > 0 else None
        kind, detail = ("run", "") if marker is None else (marker["kind"], marker["rest"])
        found.append(
            Block(
                path=str(path.relative_to(ROOT)),
                line=opening + 1,
                lang=fence["lang"],
                code="\n".join(body) + "\n",
                kind=kind,
                detail=detail.strip().strip("()").strip(),
            )
        )
    return found


def readme_blocks() -> list[Block]:
    return blocks(README, section=("<!-- begin: flask_keywire", "<!-- end: flask_keywire"))


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a reader's fresh shell: no KEYWIRE_/FLASK_ settings of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYWIRE_", "FLASK_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def quickstart_script(*, install: bool, port: int | None = None) -> str:
    """The Quick start's shell steps as one bash script."""
    # The trap is the harness's, not the reader's: a failed step must not leave the server running.
    parts = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for block in blocks(DOC):
        if block.kind != "quickstart":
            continue
        if block.detail == "install" and not install:
            continue
        parts.append(block.code)
    parts.append("wait || true")  # reap the background server the steps stopped
    script = "\n".join(parts)
    if port is not None:
        script = script.replace("8443", str(port))
    return script


def write_files(directory: Path) -> None:
    for block in blocks(DOC):
        if block.kind == "file":
            (directory / block.detail).write_text(block.code, encoding="utf-8")


def run_quickstart(
    directory: Path, *, install: bool, port: int | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the Quick start in ``directory`` as a reader would; the caller checks the output.

    Without ``install`` the current interpreter's environment stands in for the Quick start's
    virtual environment (its ``bin`` first on PATH).
    """
    write_files(directory)
    env = clean_env()
    if not install:
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("KEYWIRE_CHECKOUT", str(ROOT))
    script = quickstart_script(install=install, port=port)
    process = subprocess.Popen(  # noqa: S603 - the documentation's own steps, in a scratch directory
        ["bash", "-c", script],  # noqa: S607
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        # Whatever happened, no development server outlives the run.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        if process.poll() is None:
            process.wait(timeout=10)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


_RUNNER = """
import json, sys
namespace = {"__name__": "__docs__"}
for block in json.load(sys.stdin):
    code = compile(block["code"], f"{block['path']}:{block['line']}", "exec")
    if block["kind"] == "compile":
        continue
    if block["kind"] == "file":
        open(block["detail"], "w", encoding="utf-8").write(block["code"])
    exec(code, namespace)
    print(f"ok {block['path']}:{block['line']}", flush=True)
"""


def run_python(directory: Path, selected: list[Block]) -> subprocess.CompletedProcess[str]:
    """Run (or compile) ``selected`` python blocks in order, in one namespace, in ``directory``."""
    payload = json.dumps([b.__dict__ for b in selected if b.lang == "python"])
    env = clean_env(KEYWIRE_PEPPER=secrets.token_urlsafe(48))
    return subprocess.run(  # noqa: S603 - our interpreter and our runner
        [sys.executable, "-c", _RUNNER],
        input=payload,
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quickstart", "python"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--install", action="store_true", help="run the install steps too")
    parser.add_argument("--port", type=int, help="serve the Quick start on this port")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    if args.what == "quickstart":
        result = run_quickstart(args.directory, install=args.install, port=args.port)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0 or '"owner"' not in result.stdout:
            print("docblocks: the Quick start did not end with the key's answer", file=sys.stderr)
            return 1
        return 0
    status = 0
    for name, selected in (("docs", blocks(DOC)), ("readme", readme_blocks())):
        directory = args.directory / name
        directory.mkdir(exist_ok=True)
        result = run_python(directory, selected)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
