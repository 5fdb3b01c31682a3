"""Target parsing: normalisation, counterparts, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from keywire import TargetError, parse_target


@pytest.mark.parametrize(
    ("raw", "url", "http_url", "https_url"),
    [
        (
            "https://API.Example.com/v1",
            "https://api.example.com/v1",
            "http://api.example.com/v1",
            "https://api.example.com/v1",
        ),
        (
            "http://api.example.com",
            "http://api.example.com/",
            "http://api.example.com/",
            "https://api.example.com/",
        ),
        (
            "https://api.example.com:443/x?y=1",
            "https://api.example.com/x?y=1",
            "http://api.example.com/x?y=1",
            "https://api.example.com/x?y=1",
        ),
        (
            "https://127.0.0.1:8443/v1",
            "https://127.0.0.1:8443/v1",
            None,
            "https://127.0.0.1:8443/v1",
        ),
        ("http://[::1]:8080/", "http://[::1]:8080/", "http://[::1]:8080/", None),
        (
            "https://bücher.example/",
            "https://xn--bcher-kva.example/",
            "http://xn--bcher-kva.example/",
            "https://xn--bcher-kva.example/",
        ),
    ],
)
def test_normalisation_and_counterparts(raw, url, http_url, https_url):
    target = parse_target(raw)
    assert (target.url, target.http_url, target.https_url) == (url, http_url, https_url)


def test_explicit_counterpart_ports():
    t = parse_target("https://127.0.0.1:8443/v1", http_port=8080)
    assert t.http_url == "http://127.0.0.1:8080/v1"
    t = parse_target("http://127.0.0.1:8080/v1", https_port=8443)
    assert t.https_url == "https://127.0.0.1:8443/v1"
    assert "--http-port" in parse_target("https://127.0.0.1:8443/").counterpart_note


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty target"),
        ("api.example.com", "is not a URL"),
        ("ftp://api.example.com/", "unsupported scheme"),
        ("https://", "has no host"),
        ("https://api.example.com:99999/", "not a valid URL"),
        ("https://user:pw@api.example.com/", "credentials in the URL are refused"),
        ("http://api.example.com:0/", "port 0 is not a port"),
        ("https://[::1]:0/v1", "port 0 is not a port"),
    ],
)
def test_errors(raw, message):
    with pytest.raises(TargetError, match=message):
        parse_target(raw)


def test_credentials_in_url_error_does_not_echo_them():
    with pytest.raises(TargetError) as info:
        parse_target("https://user:hunter2secret@api.example.com/")
    assert "hunter2secret" not in str(info.value)


def test_a_long_line_is_quoted_short_in_its_error():
    """A hostile targets file line of thousands of characters: the error says which, briefly."""
    from keywire.targetsfile import parse_targets

    line = "http://a" + "b" * 5000 + "/"
    with pytest.raises(TargetError) as caught:
        parse_target(line)
    message = str(caught.value)
    assert len(message) < 400
    assert "more characters" in message and "invalid host name" in message
    (problem,) = parse_targets(line + "\n", source="t.txt").problems()
    assert problem.startswith("t.txt:1: 'http://abbb") and len(problem) < 400
