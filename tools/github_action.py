"""The GitHub Action's reporting step: the job summary and one sticky pull-request comment.

Run by ``action.yml`` after the scan (``python tools/github_action.py``), with the standard
library only. It reads what the runner provides:

- ``KW_MARKDOWN``: the Markdown report keywire wrote (``--output markdown:FILE``);
- ``GITHUB_STEP_SUMMARY``: the job summary file; the report is appended to it (``KW_SUMMARY``
  ``false`` turns that off);
- ``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH`` (the webhook payload), ``GITHUB_REPOSITORY``,
  ``GITHUB_API_URL`` and ``KW_TOKEN`` (the workflow's token, ``github.token`` by default): on a
  ``pull_request`` or ``pull_request_target`` event, the report becomes one comment on the pull
  request, found again by a hidden marker and updated in place on every run instead of adding
  new comments (``KW_COMMENT`` ``false`` turns that off; ``KW_CATEGORY`` keeps several keywire
  runs' comments apart).

A pull request from a fork runs ``pull_request`` with a read-only token, and a workflow may not
grant ``pull-requests: write``: the comment is then skipped with a ``::notice::``, never a
failure (the job summary still has the report). Whatever the API answers, the token is never
printed. Exit code 0 unless the job summary itself cannot be written.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

MARKER = "<!-- keywire-report{category} -->"
MAX_PAGES = 20  # 2,000 comments: enough to find ours, bounded
TIMEOUT = 20.0


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def notice(message: str) -> None:
    print(f"::notice title=keywire::{message}")


def warning(message: str) -> None:
    print(f"::warning title=keywire::{message}")


class GitHub:
    """The few REST calls the comment needs (issues comments API; a PR is an issue)."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self._token = token

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (the API URL comes from the runner)
            self.api_url + path,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self._token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "keywire-action",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                text = response.read(8 * 1024 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read(64 * 1024)).get("message", "")
            except (ValueError, AttributeError):
                message = ""
            raise ApiError(exc.code, str(message)[:200] or exc.reason) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(0, f"cannot reach the GitHub API: {exc}") from None
        return json.loads(text) if text.strip() else None

    def find_comment(self, number: int, marker: str) -> int | None:
        for page in range(1, MAX_PAGES + 1):
            comments = self.call(
                "GET",
                f"/repos/{self.repository}/issues/{number}/comments?per_page=100&page={page}",
            )
            for comment in comments or []:
                if marker in str(comment.get("body", "")):
                    return int(comment["id"])
            if not comments or len(comments) < 100:
                return None
        return None

    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        existing = self.find_comment(number, marker)
        if existing is None:
            self.call("POST", f"/repos/{self.repository}/issues/{number}/comments", {"body": body})
            return "created"
        self.call("PATCH", f"/repos/{self.repository}/issues/comments/{existing}", {"body": body})
        return "updated"


def _pull_request(event_name: str, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if event_name not in ("pull_request", "pull_request_target"):
        return None
    pull = payload.get("pull_request")
    return pull if isinstance(pull, Mapping) and isinstance(pull.get("number"), int) else None


def _from_fork(pull: Mapping[str, Any]) -> bool:
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    return bool(head and base and head != base)


def run(environ: Mapping[str, str]) -> int:
    report_path = environ.get("KW_MARKDOWN", "")
    try:
        with open(report_path, encoding="utf-8") as handle:
            report = handle.read()
    except OSError:
        warning(f"no Markdown report at {report_path!r}: the scan wrote none")
        return 0
    category = environ.get("KW_CATEGORY", "").strip()
    marker = MARKER.format(category=f":{category}" if category else "")

    summary = environ.get("GITHUB_STEP_SUMMARY", "")
    if summary and environ.get("KW_SUMMARY", "true") != "false":
        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(report.rstrip("\n") + "\n")
        except OSError as exc:
            print(f"::error title=keywire::cannot write the job summary: {exc.strerror or exc}")
            return 1

    if environ.get("KW_COMMENT", "true") == "false":
        return 0
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    try:
        with open(environ.get("GITHUB_EVENT_PATH", ""), encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, ValueError):
        payload = {}
    pull = _pull_request(event_name, payload if isinstance(payload, Mapping) else {})
    if pull is None:
        return 0  # push, schedule, workflow_dispatch: the job summary is the report
    number = int(pull["number"])
    if event_name == "pull_request" and _from_fork(pull):
        notice(
            f"pull request #{number} comes from a fork: its token cannot write comments, so "
            "the report is in the job summary only"
        )
        return 0
    token = environ.get("KW_TOKEN", "")
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        notice("no token or repository: the pull-request comment is skipped")
        return 0
    github = GitHub(environ.get("GITHUB_API_URL", "https://api.github.com"), repository, token)
    body = f"{marker}\n{report}"
    try:
        done = github.upsert_comment(number, marker, body)
    except ApiError as exc:
        if exc.status in (401, 403, 404):
            notice(
                f"the token cannot comment on pull request #{number} ({exc}); grant the job "
                "'pull-requests: write' to get the comment. The report is in the job summary."
            )
        else:
            warning(f"could not comment on pull request #{number}: {exc}")
        return 0
    print(f"keywire: {done} the report comment on pull request #{number}")
    return 0


def main() -> int:
    return run(os.environ)


if __name__ == "__main__":
    sys.exit(main())
