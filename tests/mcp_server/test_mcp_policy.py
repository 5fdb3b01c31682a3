"""The MCP server's policy: the allowlist's exact prefix matching, the [mcp] table, the rate cap
and the resolver that keeps a scan's connections on the allowlist's hosts."""

from __future__ import annotations

import asyncio

import pytest

from keywire.config import ConfigError, load_config
from keywire.mcp_server.policy import (
    ALLOW_ENV,
    Allowlist,
    AllowlistResolver,
    PolicyError,
    RateLimiter,
    load_policy,
    normalise_url,
)
from keywire.net.resolver import ResolutionError, StaticResolver


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/v1/resource?x=1",
        "HTTP://127.0.0.1:8000/v1",
        "http://127.0.0.1.:8000/v1",
        "http://127.0.0.1:8000/other/../v1",
    ],
)
def test_a_prefix_allows_what_lies_under_it(url):
    assert Allowlist.parse(["http://127.0.0.1:8000"]).permits(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80001/",  # not a port: a longer string is not "under" the prefix
        "http://127.0.0.1:8000@evil/",  # the host is evil
        "http://127.0.0.1:8000@127.0.0.1:8000/",  # userinfo is refused outright
        "http://127.0.0.1:800/",
        "http://127.0.0.1:8001/",
        "https://127.0.0.1:8000/",  # another scheme
        "http://127.0.0.2:8000/",
        "http://127.1:8000/",  # the same address spelled otherwise: not the same string
        "http://localhost:8000/",
        "http://[::ffff:127.0.0.1]:8000/",
        "http://127.0.0.1/",  # port 80
        "http://127.0.0.1:8000.evil.example/",
        "http://127.0.0.1:8000#@evil/",
        "ftp://127.0.0.1:8000/",
        "http://127.0.0.1:8000\\@evil/",
        "http://127.0.0.1:8000 /",
        "127.0.0.1:8000",
        "",
    ],
)
def test_exact_prefix_matching_refuses_look_alikes(url):
    assert not Allowlist.parse(["http://127.0.0.1:8000"]).permits(url)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.example.com/v1", True),
        ("https://api.example.com/v1/", True),
        ("https://api.example.com/v1/users?id=3", True),
        ("https://api.example.com/v1x", False),  # a path prefix ends on a "/" boundary
        ("https://api.example.com/v2", False),
        ("https://api.example.com/", False),
        ("https://api.example.com/v1/../admin", False),  # dot segments are resolved first
        ("https://api.example.com/v1/%2e%2e/admin", False),  # escaped ones too
        ("https://api.example.com/v1%2fx", False),  # an escaped "/" is not a boundary
        ("https://api.example.com/%76%31/x", True),  # %76%31 is "v1" (unreserved escapes)
        ("https://API.Example.COM/v1/x", True),
        ("https://api.example.com:443/v1", True),
        ("https://api.example.com:8443/v1", False),
        ("https://api.example.com.evil.test/v1", False),
    ],
)
def test_path_prefixes(url, allowed):
    assert Allowlist.parse(["https://api.example.com/v1/"]).permits(url) is allowed


def test_nothing_is_allowed_by_default_not_even_loopback():
    policy = load_policy(None, {})
    assert not policy.allow
    for url in ("http://127.0.0.1/", "http://localhost:8000/", "http://10.0.0.1/", "http://[::1]/"):
        assert not policy.allow.permits(url)
    assert not load_policy(None, {ALLOW_ENV: " , "}).allow


def test_the_environment_and_the_file_add_up():
    from keywire.mcp_server.policy import McpSettings

    policy = load_policy(
        McpSettings(allow=("https://a.example/",)),
        {ALLOW_ENV: "http://127.0.0.1:8000, https://b.example/api"},
    )
    assert [str(p) for p in policy.allow.prefixes] == [
        "https://a.example/",
        "http://127.0.0.1:8000/",
        "https://b.example/api",
    ]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("http://user:pw@127.0.0.1:8000/", "credentials in the URL"),
        ("http://127.0.0.1:80001/", "not a valid URL"),
        ("127.0.0.1:8000", "only http"),
        ("http://127.0.0.1:8000/?a=1", "no query"),
        ("http://127.0.0.1:8000/#x", "fragment"),
        ("http:///path", "no valid host"),
        ("http://127.0.0.1:0/", "port 0"),
    ],
)
def test_bad_allowlist_entries_are_errors(entry, reason):
    with pytest.raises(PolicyError, match=reason):
        load_policy(None, {ALLOW_ENV: entry})


def test_normalised_form():
    assert str(normalise_url("HTTPS://Api.Example.com:443/a/./b/../c/")[0]) == (
        "https://api.example.com/a/c/"
    )
    assert str(normalise_url("http://[::1]:8080")[0]) == "http://[::1]:8080/"


def test_the_mcp_table_of_a_configuration_file(tmp_path):
    path = tmp_path / "keywire.toml"
    path.write_text(
        """
timeout = 5
[mcp]
allow = ["https://staging.example.com/api/", "http://127.0.0.1:8000"]
scans-per-minute = 2

[[mcp.credentials]]
header = "X-API-Key"
env = "STAGING_KEY"
prefix = "https://staging.example.com/api/"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.mcp is not None
    policy = load_policy(config.mcp, {})
    assert policy.scans_per_minute == 2
    target = normalise_url("https://staging.example.com/api/v1")[0]
    assert policy.headers_for(target, {"STAGING_KEY": "kw-staging-0123456789"}) == {
        "X-API-Key": "kw-staging-0123456789"
    }
    assert policy.headers_for(normalise_url("http://127.0.0.1:8000/")[0], {}) == {}
    with pytest.raises(PolicyError, match="STAGING_KEY") as info:
        policy.headers_for(target, {})
    assert "kw-staging" not in str(info.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('allow = ["http://127.0.0.1:80001"]', ":3: .*not a valid URL"),
        ("allow = 3", ":3: 'allow' must be a list"),
        ("scans-per-minute = 0", ":3: 'scans-per-minute' must be an integer"),
        ('allowed = ["http://x/"]', ":3: unknown key 'allowed'"),
        (
            '[[mcp.credentials]]\nheader = "X-API-Key"\nenv = "K"\nprefix = "http://a.example/"',
            "only sent over https",
        ),
        (
            '[[mcp.credentials]]\nheader = "X-API-Key"\nvalue = "secret"\nenv = "K"\n'
            'prefix = "https://a.example/"',
            "unknown key 'value'",
        ),
        (
            '[[mcp.credentials]]\nheader = "Host"\nenv = "K"\nprefix = "https://a.example/"',
            "not sent",
        ),
        (
            '[[mcp.credentials]]\nheader = "X-Key"\nenv = "NOT A NAME"\nprefix = "https://a/"',
            "must name an environment variable",
        ),
    ],
)
def test_mistakes_in_the_mcp_table_name_the_line(tmp_path, table, message):
    path = tmp_path / "keywire.toml"
    path.write_text(f"timeout = 5\n[mcp]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_rate_limiter_counts_a_sliding_minute():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.acquire() == 0
    now[0] += 10
    assert limiter.acquire() == 0
    now[0] += 10
    assert limiter.acquire() == pytest.approx(40)  # the first one leaves the window at +60
    now[0] += 40
    assert limiter.acquire() == 0


def test_the_resolver_answers_only_for_allowlisted_hosts():
    inner = StaticResolver({"api.test": ["127.0.0.1"], "evil.test": ["127.0.0.1"]})
    resolver = AllowlistResolver(inner, Allowlist.parse(["http://api.test:8000/"]).hosts)
    assert asyncio.run(resolver.resolve("API.test.")) == ("127.0.0.1",)
    for host in ("evil.test", "127.0.0.1", "10.0.0.1", "[::1]"):
        with pytest.raises(ResolutionError, match="not on the MCP server's allowlist"):
            asyncio.run(resolver.resolve(host))
