"""Issue 13 item 8: cleartext forms and active mixed content in the HTML an API host serves.

The parser (bounded, stdlib tokenizer), the pure check, and the lab pages
(:mod:`labs.webpages`) each with its near miss.
"""

from __future__ import annotations

import time

import pytest

from keywire import OutcomeStatus, ScanOptions, Severity
from keywire.checks import _html
from keywire.checks._base import CheckNotRun
from keywire.checks._html import parse_page
from keywire.checks.html_pages import HtmlObservation, PageSeen, check, is_html
from keywire.lab import LabServer
from keywire.net.http import HttpResponse
from labs.webpages import PAGE_PROFILES, make_page_app, page_profile

from ..judged import scan_judged

PAGE = "https://api.test/docs/index.html"


def forms(markup: str):
    return [(f.action, f.sensitive_fields, f.via) for f in parse_page(markup.encode(), PAGE).forms]


def resources(markup: str):
    return [(r.kind, r.url) for r in parse_page(markup.encode(), PAGE).resources]


def test_form_actions_resolve_like_a_browser() -> None:
    assert forms("<form action='/login'></form>") == [("https://api.test/login", (), "action")]
    assert forms("<form></form>") == [(PAGE, (), "action")]
    assert forms("<form action=''></form>") == [(PAGE, (), "action")]
    assert forms("<form action='//other.test/x'></form>") == [
        ("https://other.test/x", (), "action")
    ]


def test_the_first_base_href_applies_to_the_whole_document() -> None:
    markup = (
        "<form action='login'><input type=password name=pw></form>"
        "<base href='http://portal.test/app/'><base href='https://ignored.test/'>"
        "<script src='main.js'></script>"
    )
    assert forms(markup) == [("http://portal.test/app/login", ("pw",), "action")]
    assert resources(markup) == [("script", "http://portal.test/app/main.js")]


def test_an_empty_action_is_the_document_not_the_base() -> None:
    assert forms("<base href='http://portal.test/'><form></form>") == [(PAGE, (), "action")]


def test_formaction_is_a_second_target() -> None:
    markup = (
        "<form action='/save'><input name='api_key'>"
        "<button formaction='http://api.test/save'>Save</button></form>"
    )
    assert forms(markup) == [
        ("https://api.test/save", ("api_key",), "action"),
        ("http://api.test/save", ("api_key",), "formaction"),
    ]


@pytest.mark.parametrize(
    ("field", "sensitive"),
    [
        ("<input type='password' name='pw'>", ("pw",)),
        ("<input type='password'>", ("(password field)",)),
        ("<input name='login' autocomplete='current-password'>", ("login",)),
        ("<input name='api_key'>", ("api_key",)),
        ("<input name='X-API-Key'>", ("X-API-Key",)),
        ("<input name='client_secret'>", ("client_secret",)),
        ("<input name='access_token'>", ("access_token",)),
        ("<textarea name='private_key'></textarea>", ("private_key",)),
        ("<input type='hidden' name='csrf_token' value='abc'>", ()),
        ("<input type='hidden' name='state' value='abc'>", ()),
        ("<input name='q'><input name='keyword'>", ()),
        ("<input type='submit' name='password'>", ()),
    ],
)
def test_credential_fields(field: str, sensitive: tuple[str, ...]) -> None:
    ((_, found, _),) = forms(f"<form action='/x'>{field}</form>")
    assert found == sensitive


def test_resources_the_page_loads() -> None:
    markup = (
        "<link rel='stylesheet' href='http://cdn.test/a.css'>"
        "<link rel='preload' as='script' href='http://cdn.test/p.js'>"
        "<link rel='icon' href='http://cdn.test/favicon.ico'>"
        "<iframe src='http://login.test/'></iframe><object data='http://x.test/o.swf'></object>"
        "<embed src='http://x.test/e'><img src='http://cdn.test/passive.png'>"
    )
    assert resources(markup) == [
        ("stylesheet", "http://cdn.test/a.css"),
        ("script", "http://cdn.test/p.js"),
        ("iframe", "http://login.test/"),
        ("object", "http://x.test/o.swf"),
        ("embed", "http://x.test/e"),
    ]


def test_markup_inside_scripts_and_comments_is_not_an_element() -> None:
    markup = (
        "<!-- <script src='http://a.test/x.js'></script> -->"
        "<script>document.write(\"<script src='http://b.test/y.js'><\\/script>\")</script>"
        "<textarea><form action='http://c.test/'></form></textarea>"
    )
    assert resources(markup) == []
    assert forms(markup) == []


def test_a_page_with_too_many_tags_is_cut_short() -> None:
    page = parse_page(b"<br>" * (_html.MAX_TAGS + 10) + b"<script src='http://x.test/a.js'>", PAGE)
    assert "tags" in page.cut_short
    assert page.resources == ()


def test_parsing_stops_at_its_deadline(monkeypatch) -> None:
    monkeypatch.setattr(_html, "MAX_SECONDS", -1.0)
    page = parse_page(b"<p>x</p>" * 10_000, PAGE)
    assert "took more than" in page.cut_short


@pytest.mark.parametrize(
    "body",
    [
        b"<!--" + b"x" * 900_000,
        b"<a " + b'b="' * 200_000,
        b"<" * 500_000,
        bytes(range(256)) * 2000,
        b"<form action='http://x.test/'>" * 5000,
        # Regression: closing the tokenizer on these re-read the rest once per character
        # (153 s, 112 s and 28 s for a megabyte).
        b"</" * 500_000,
        b"<?" * 500_000,
        b"<![CDATA[" * 100_000,
    ],
    ids=lambda b: repr(b[:10]),
)
def test_hostile_markup_ends_without_error_and_soon(body: bytes) -> None:
    started = time.monotonic()
    page = parse_page(body, PAGE)
    assert time.monotonic() - started < 10
    assert len(page.forms) <= _html.MAX_ITEMS * 17


def test_a_long_inline_script_does_not_hide_what_follows() -> None:
    body = b"<script>" + b"var a = 1;\n" * 90_000 + b"</script><script src='http://x.test/a.js'>"
    page = parse_page(body, PAGE)
    assert page.cut_short == ""
    assert [r.url for r in page.resources] == ["http://x.test/a.js"]


def test_is_html_by_media_type_or_by_its_start() -> None:
    def response(body: bytes, content_type: str | None) -> HttpResponse:
        headers = (("Content-Type", content_type),) if content_type else ()
        return HttpResponse(
            url=PAGE,
            method="GET",
            probe="t",
            status=200,
            reason="OK",
            headers=headers,
            body=body,
            body_truncated=False,
            http_version="HTTP/1.1",
            elapsed_s=0.0,
        )

    assert is_html(response(b"{}", "text/html; charset=utf-8"))
    assert not is_html(response(b"<!doctype html>", "application/json"))
    assert is_html(response(b"  <!DOCTYPE html><html>", None))
    assert not is_html(response(b'{"html": "<html>"}', None))


# -- the check (pure) -------------------------------------------------------------------------


def observe(*pages: PageSeen, responses: int = 1) -> HtmlObservation:
    return HtmlObservation(target="https://api.test/", https_responses=responses, pages=pages)


def page(markup: str, **kw) -> PageSeen:
    parsed = parse_page(markup.encode(), PAGE)
    return PageSeen(url=PAGE, forms=parsed.forms, resources=parsed.resources, **kw)


def test_severity_follows_the_fields_a_form_carries() -> None:
    login = page("<form action='http://api.test/s'><input type=password name=p></form>")
    search = page("<form action='http://api.test/s'><input name=q></form>")
    ((finding,),) = (check(observe(login)),)
    assert (finding.rule_id, finding.severity) == ("KW171", Severity.HIGH)
    assert finding.evidence[-1] == ("credential_fields", "p")
    ((finding,),) = (check(observe(search)),)
    assert (finding.rule_id, finding.severity) == ("KW171", Severity.MEDIUM)


def test_only_http_counts() -> None:
    markup = (
        "<form action='https://a.test/'><input type=password></form>"
        "<form action='javascript:void(0)'></form><form action='mailto:x@a.test'></form>"
        "<script src='/a.js'></script><script src='data:text/javascript,1'></script>"
        "<iframe src='about:blank'></iframe>"
    )
    assert check(observe(page(markup))) == []


def test_a_page_cut_short_is_not_tested_with_what_was_found() -> None:
    cut = page("<script src='http://cdn.test/a.js'></script>", cut_short="more than 20,000 tags")
    with pytest.raises(CheckNotRun) as stop:
        check(observe(cut))
    assert stop.value.status is OutcomeStatus.ERROR
    assert [f.rule_id for f in stop.value.findings] == ["KW172"]


def test_no_https_response_is_not_applicable() -> None:
    with pytest.raises(CheckNotRun) as stop:
        check(observe(responses=0))
    assert stop.value.status is OutcomeStatus.SKIPPED


# -- the lab pages ----------------------------------------------------------------------------

HTML_PROFILES = [p for p in PAGE_PROFILES if not p.compress and not p.reflect and not p.secret]


def scan_page(item, pki, **options):
    with LabServer(make_page_app(item), ssl_context=pki.server_context()) as server:
        report = scan_judged(
            server.url + "/",
            options=ScanOptions(ca_file=str(pki.ca_file), timeout=5, **options),
        )
    return report.targets[0]


@pytest.mark.parametrize("item", HTML_PROFILES, ids=lambda p: p.name)
def test_lab_page_yields_exactly_its_findings(item, pki) -> None:
    result = scan_page(item, pki, only=("html", "mixed_content"))
    assert all(o.status is OutcomeStatus.COMPLETED for o in result.outcomes), result.outcomes
    found = {f.rule_id: f.severity.value for f in result.findings}
    assert set(found) == set(item.expect), [f.message for f in result.findings]
    for rule_id, severity in item.severities:
        assert found[rule_id] == severity


@pytest.mark.parametrize("item", [p for p in HTML_PROFILES if p.expect], ids=lambda p: p.name)
def test_every_html_flaw_has_a_near_miss(item) -> None:
    assert not page_profile(item.near_miss).expect


def test_flaw_and_near_miss_differ_in_exactly_that_finding_in_a_full_scan(pki) -> None:
    flawed = scan_page(page_profile("login-form-http"), pki)
    near = scan_page(page_profile("login-form-https"), pki)
    flawed_ids = {f.rule_id for f in flawed.findings}
    near_ids = {f.rule_id for f in near.findings}
    assert flawed_ids - near_ids == {"KW171"}
    assert near_ids <= flawed_ids
