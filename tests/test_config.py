"""Configuration files: discovery, every key checked, errors that name the file and the line."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from keywire import ConfigError, Policy, Severity, Suppression, apply_policy, load_config
from keywire.config import discover

EXAMPLE = """\
format = "json"
fail-on = "medium"
fail-under = 80
timeout = 5
per-host = 3
only = ["http"]
ca-file = "certs/root.pem"
output = ["sarif:out/keywire.sarif"]
skip-rules = ["kw145"]

[severity]
KW141 = "low"

[[suppress]]
rule = "KW140"
target = "https://staging.example.test/*"
reason = "staging is not public (SEC-12)"
expires = 2099-12-31

[[suppress]]
rule = "KW160"
target = "*"
reason = "legacy cookie"
"""


def write(tmp_path: Path, text: str, name: str = "keywire.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads(tmp_path):
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.options["fail-on"] == "medium"
    assert config.options["ca-file"] == str((tmp_path / "certs/root.pem").resolve())
    assert config.options["output"] == (f"sarif:{(tmp_path / 'out/keywire.sarif').resolve()}",)
    assert config.policy.skip_rules == ("KW145",)
    assert config.policy.severity == {"KW141": Severity.LOW}
    first, second = config.policy.suppressions
    assert first.expires == date(2099, 12, 31) and first.source == "keywire.toml:14"
    assert second.expires is None and second.source == "keywire.toml:20"
    options = config.scan_options()
    assert options.timeout == 5 and options.per_host == 3 and tuple(options.only) == ("http",)


def test_pyproject_table_and_discovery(tmp_path):
    assert discover(tmp_path) is None
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    assert discover(tmp_path) is None  # no [tool.keywire]
    write(
        tmp_path,
        '[project]\nname = "x"\n\n[tool.keywire]\ntimeout = 3\ntimout = 4\n',
        "pyproject.toml",
    )
    assert discover(tmp_path) == tmp_path / "pyproject.toml"
    with pytest.raises(
        ConfigError, match=r"pyproject\.toml:6: unknown key 'timout' \(did you mean 'timeout'\?\)"
    ):
        load_config(tmp_path / "pyproject.toml")
    write(tmp_path, "timeout = 2\n")
    assert discover(tmp_path) == tmp_path / "keywire.toml"  # keywire.toml wins


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('timeout = 5\nfail-on = "severe"\n', r"keywire.toml:2: 'fail-on' must be one of"),
        ("timeout = true\n", r"keywire.toml:1: 'timeout' must be a number"),
        ("fail-under = 101\n", r"keywire.toml:1: 'fail-under' must be an integer from 0 to 100"),
        ('only = ["http", "nope"]\n', r"keywire.toml:1: 'only': unknown check 'nope'"),
        (
            'headers = ["Authorization: x"]\n',
            r"keywire.toml:1: 'headers' is not read from configuration files",
        ),
        ('skip-rules = ["KW999"]\n', r"keywire.toml:1: unknown rule 'KW999'"),
        ('\n[severity]\nKW141 = "urgent"\n', r"keywire.toml:3: severity of KW141 must be one of"),
        ('\n[severity]\nKW999 = "low"\n', r"keywire.toml:3: unknown rule 'KW999'"),
        (
            '[[suppress]]\nrule = "KW140"\ntarget = "*"\n',
            r"keywire.toml:1: \[\[suppress\]\] #1 needs 'reason'",
        ),
        (
            '[[suppress]]\nrule = "KW140"\ntarget = "*"\nreason = "  "\n',
            r"keywire.toml:4: .*'reason' must say why",
        ),
        (
            '[[suppress]]\nrule = "KW140"\ntarget = "*"\nreason = "r"\n\n[[suppress]]\nrule = "KW140"\ntarget = "*"\nreason = "r"\nreasn = "x"\n',
            r"keywire.toml:10: unknown key in \[\[suppress\]\] #2 'reasn'",
        ),
        (
            '[[suppress]]\nrule = "KW140"\ntarget = "*"\nreason = "r"\nexpires = "soon"\n',
            r"keywire.toml:5: .*'expires' must be a date",
        ),
        (
            'output = ["pdf:x.pdf"]\n',
            r"keywire.toml:1: 'output' entry 'pdf:x.pdf' must be FORMAT:FILE",
        ),
        ('timeout = 5\nformat = "json\n', r"keywire.toml:2:\d+: invalid TOML"),
        ("[severity]\nKW141 = { x = 1 }\n", r"keywire.toml:2: severity of KW141 must be one of"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    path = tmp_path / "keywire.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_policy_suppresses_overrides_and_skips(lab_api):
    api = lab_api(
        hsts="max-age=600", cookies=("sid=1; Path=/",)
    )  # KW142 low, KW143 low, KW160, KW162
    report = api.scan()
    found = {f.rule_id for f in report.findings}
    assert {"KW160", "KW162"} <= found
    before = report.score
    policy = Policy(
        skip_rules=("KW162",),
        severity={"KW160": Severity.CRITICAL},
        suppressions=(
            Suppression(rule_id="KW160", target=report.targets[0].target, reason="accepted"),
        ),
    )
    after = apply_policy(report, policy)
    assert "KW162" not in {f.rule_id for f in after.findings}
    kw160 = next(f for f in after.findings if f.rule_id == "KW160")
    assert kw160.severity is Severity.CRITICAL and kw160.suppressed
    assert all(f.rule_id != "KW160" for f in after.active_findings)
    assert after.score.grade != "F"  # a suppressed critical does not cap the grade
    assert after.score.score >= before.score
    unsuppressed = apply_policy(report, dataclasses.replace(policy, suppressions=()))
    assert unsuppressed.score.grade == "F"  # the override alone makes it critical


def test_expired_suppression_stops_and_says_so(lab_api):
    api = lab_api(hsts=None)
    report = api.scan()
    day = report.started_at.date()
    live = Suppression(rule_id="KW140", target="*", reason="r", expires=day)  # through today
    assert apply_policy(report, Policy(suppressions=(live,))).active_findings == ()
    old = dataclasses.replace(report, started_at=datetime(2030, 1, 2, tzinfo=timezone.utc))
    expired = dataclasses.replace(live, expires=date(2030, 1, 1), source="keywire.toml:3")
    result = apply_policy(old, Policy(suppressions=(expired,)))
    assert [f.rule_id for f in result.active_findings] == ["KW140"]
    assert result.notices and "expired on 2030-01-01" in result.notices[0]
    assert "keywire.toml:3" in result.notices[0] and "1 finding now counts" in result.notices[0]


def test_library_scan_applies_config(lab_api, tmp_path):
    from keywire import ScanOptions, scan

    api = lab_api(hsts=None)
    path = write(
        tmp_path, '[[suppress]]\nrule = "KW140"\ntarget = "https://127.0.0.1:*"\nreason = "lab"\n'
    )
    config = load_config(path)
    report = scan(
        [api.target()], options=ScanOptions(ca_file=api.ca_file, timeout=5), config=config
    )
    assert [f.rule_id for f in report.findings] == ["KW140"]
    assert report.findings[0].suppressed and report.active_findings == ()
    assert report.score.score == 100 and report.policy is config.policy


def test_vulnerability_probes_key(tmp_path):
    config = load_config(write(tmp_path, "vulnerability-probes = false\n"))
    assert config.options["vulnerability-probes"] is False
    assert config.scan_options().vulnerability_probes is False
    assert load_config(write(tmp_path, "timeout = 3\n")).scan_options().vulnerability_probes
    with pytest.raises(ConfigError, match=r"keywire.toml:1: .*vulnerability-probes"):
        load_config(write(tmp_path, 'vulnerability-probes = "no"\n'))
