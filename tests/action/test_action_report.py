"""The Action's reporting step (tools/github_action.py) against a fake GitHub API on loopback.

The fake is a small Flask app that records every request and answers like the REST API's
issues-comments endpoints, with a token that can write or one that cannot (a fork's). The
payloads are the shapes GitHub sends for push, pull_request and pull_request from a fork. The
script runs as the Action runs it: a subprocess with the runner's environment variables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request

from keywire.lab import LabServer

from ..conftest import ROOT

SCRIPT = ROOT / "tools" / "github_action.py"
WRITE_TOKEN = "ghs_fakeWriteToken0000000000000000000000"  # a placeholder, not a real token
READ_TOKEN = "ghs_fakeReadOnlyToken000000000000000000"
REPORT = "## keywire: grade F (79/100)\n\nGate (fail on high): **failed**\n"


@dataclass
class FakeGitHub:
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str, Any]] = field(default_factory=list)
    next_id: int = 1000

    def app(self) -> Flask:
        app = Flask("fake-github")

        def allowed() -> tuple[bool, bool]:
            auth = request.headers.get("Authorization", "")
            return auth in (f"Bearer {WRITE_TOKEN}", f"Bearer {READ_TOKEN}"), auth == (
                f"Bearer {WRITE_TOKEN}"
            )

        @app.before_request
        def record() -> None:
            body = request.get_json(silent=True)
            self.requests.append(
                (
                    request.method,
                    request.full_path.rstrip("?"),
                    request.headers.get("Authorization", ""),
                    body,
                )
            )

        @app.get("/repos/<owner>/<repo>/issues/<int:number>/comments")
        def list_comments(owner: str, repo: str, number: int) -> Any:
            known, _ = allowed()
            if not known:
                return jsonify(message="Bad credentials"), 401
            page = int(request.args.get("page", "1"))
            per_page = int(request.args.get("per_page", "30"))
            items = self.comments.get(number, [])
            return jsonify(items[(page - 1) * per_page : page * per_page])

        @app.post("/repos/<owner>/<repo>/issues/<int:number>/comments")
        def create(owner: str, repo: str, number: int) -> Any:
            _known, write = allowed()
            if not write:
                return jsonify(message="Resource not accessible by integration"), 403
            self.next_id += 1
            comment = {"id": self.next_id, "body": request.get_json()["body"]}
            self.comments.setdefault(number, []).append(comment)
            return jsonify(comment), 201

        @app.patch("/repos/<owner>/<repo>/issues/comments/<int:comment_id>")
        def update(owner: str, repo: str, comment_id: int) -> Any:
            _known, write = allowed()
            if not write:
                return jsonify(message="Resource not accessible by integration"), 403
            for items in self.comments.values():
                for comment in items:
                    if comment["id"] == comment_id:
                        comment["body"] = request.get_json()["body"]
                        return jsonify(comment)
            return jsonify(message="Not Found"), 404

        return app


@pytest.fixture
def github():
    fake = FakeGitHub()
    with LabServer(fake.app()) as server:
        yield fake, server.url


def _pull_request_payload(number: int, *, fork: bool) -> dict[str, Any]:
    base = {"full_name": "acme/api", "fork": False}
    head = {"full_name": "someone/api" if fork else "acme/api", "fork": fork}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature", "sha": "a" * 40, "repo": head},
            "base": {"ref": "main", "sha": "b" * 40, "repo": base},
        },
        "repository": base,
    }


def _push_payload() -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": "c" * 40,
        "repository": {"full_name": "acme/api"},
        "pusher": {"name": "dev"},
    }


def _run(tmp_path: Path, api: str, event: str, payload: dict[str, Any], token: str, **extra: str):
    report = tmp_path / "keywire.md"
    report.write_text(REPORT, encoding="utf-8")
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    summary = tmp_path / "summary.md"
    env = {
        "PATH": "/usr/bin:/bin",
        "KW_MARKDOWN": str(report),
        "KW_TOKEN": token,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "acme/api",
        "GITHUB_API_URL": api,
        "no_proxy": "*",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    return result, summary


def test_push_writes_the_job_summary_and_calls_no_api(github, tmp_path):
    fake, url = github
    result, summary = _run(tmp_path, url, "push", _push_payload(), WRITE_TOKEN)
    assert result.returncode == 0, result.stderr
    assert summary.read_text() == REPORT
    assert fake.requests == []


def test_pull_request_gets_one_sticky_comment(github, tmp_path):
    fake, url = github
    # Someone else's comments are there already, across more than one page.
    fake.comments[7] = [{"id": i, "body": f"looks good {i}"} for i in range(1, 131)]
    payload = _pull_request_payload(7, fork=False)
    first, summary = _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN)
    assert first.returncode == 0, first.stderr
    assert "created the report comment on pull request #7" in first.stdout
    ours = [c for c in fake.comments[7] if "<!-- keywire-report -->" in c["body"]]
    assert len(ours) == 1 and REPORT in ours[0]["body"]
    assert summary.read_text() == REPORT

    second, _ = _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN)
    assert "updated the report comment" in second.stdout
    assert len(fake.comments[7]) == 131  # updated in place, not a new one
    methods = [(m, p.split("?")[0]) for m, p, _, _ in fake.requests]
    assert methods.count(("POST", "/repos/acme/api/issues/7/comments")) == 1
    assert methods.count(("PATCH", f"/repos/acme/api/issues/comments/{ours[0]['id']}")) == 1
    # Every call carried the workflow's token, and the output never shows it.
    assert {auth for _, _, auth, _ in fake.requests} == {f"Bearer {WRITE_TOKEN}"}
    assert WRITE_TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_categories_keep_separate_comments(github, tmp_path):
    fake, url = github
    payload = _pull_request_payload(3, fork=False)
    _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN, KW_CATEGORY="staging")
    _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN, KW_CATEGORY="prod")
    _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN, KW_CATEGORY="prod")
    assert len(fake.comments[3]) == 2


def test_fork_pull_request_skips_the_comment_with_a_notice(github, tmp_path):
    fake, url = github
    payload = _pull_request_payload(9, fork=True)
    result, summary = _run(tmp_path, url, "pull_request", payload, READ_TOKEN)
    assert result.returncode == 0, result.stderr
    assert "::notice" in result.stdout and "fork" in result.stdout
    assert summary.read_text() == REPORT  # the report is still in the job summary
    assert not [r for r in fake.requests if r[0] in ("POST", "PATCH")]


def test_read_only_token_skips_gracefully(github, tmp_path):
    """A workflow that did not grant pull-requests: write: the API answers 403."""
    fake, url = github
    payload = _pull_request_payload(11, fork=False)
    result, _summary = _run(tmp_path, url, "pull_request", payload, READ_TOKEN)
    assert result.returncode == 0, result.stderr
    assert "::notice" in result.stdout and "pull-requests: write" in result.stdout
    assert "403" in result.stdout
    assert READ_TOKEN not in result.stdout + result.stderr
    assert [r[0] for r in fake.requests] == ["GET", "POST"]
    assert 11 not in fake.comments


def test_comment_can_be_turned_off_and_missing_report_is_a_warning(github, tmp_path):
    fake, url = github
    payload = _pull_request_payload(5, fork=False)
    result, _ = _run(tmp_path, url, "pull_request", payload, WRITE_TOKEN, KW_COMMENT="false")
    assert result.returncode == 0 and fake.requests == []
    result, _ = _run(
        tmp_path, url, "pull_request", payload, WRITE_TOKEN, KW_MARKDOWN=str(tmp_path / "none.md")
    )
    assert result.returncode == 0 and "::warning" in result.stdout and fake.requests == []
