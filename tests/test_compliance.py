"""The compliance mapping: every row points at a rule and a shipped requirement, reports show it.

The requirement lists ship with the package (:mod:`keywire.compliance`); a mapping to an ID
that is not in them fails here (and at import).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from keywire.cli import main
from keywire.compliance import (
    FRAMEWORKS,
    MAPPINGS,
    REQUIREMENTS,
    _asvs,
    by_requirement,
    mappings_for,
)
from keywire.compliance._mappings import ASVS_SUMMARIES
from keywire.reporters import render
from keywire.rules import RULES

ID_FORMS = {
    "asvs": re.compile(r"V(?:[1-9]|1[0-7])\.\d{1,2}\.\d{1,2}"),
    "pci-dss": re.compile(r"\d{1,2}\.\d{1,2}\.\d{1,2}(?:\.\d)?"),
    "nist-800-52": re.compile(r"\d(?:\.\d){1,3}"),
}


@pytest.mark.parametrize("row", MAPPINGS, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_every_mapping_points_at_a_rule_and_an_existing_requirement(row):
    rule_id, framework, requirement, why = row
    assert rule_id in RULES and not RULES[rule_id].retired
    assert framework in FRAMEWORKS
    assert requirement in REQUIREMENTS[framework], f"{framework} {requirement} is not shipped"
    assert why.strip() and len(why) < 120


def test_mappings_are_unique_and_cited():
    keys = [(r, f, q) for r, f, q, _ in MAPPINGS]
    assert len(keys) == len(set(keys))
    for rule_id in RULES:
        for m in mappings_for(rule_id):
            assert m.citation.startswith(FRAMEWORKS[m.framework].title)
            assert m.requirement.id in m.citation
            assert "https://" in m.citation


def test_requirement_lists_are_well_formed():
    for framework, requirements in REQUIREMENTS.items():
        assert requirements, framework
        for req_id, requirement in requirements.items():
            assert ID_FORMS[framework].fullmatch(req_id), (framework, req_id)
            assert requirement.id == req_id and requirement.framework == framework
            assert requirement.title and requirement.source.startswith("https://")
    # ASVS 5.0.0 is shipped whole: 345 requirements in 17 chapters, from the official CSV.
    assert len(REQUIREMENTS["asvs"]) == len(_asvs.REQUIREMENTS) == 345
    assert {int(i[1:].split(".")[0]) for i in REQUIREMENTS["asvs"]} == set(range(1, 18))
    assert REQUIREMENTS["asvs"]["V12.1.1"].section.startswith("V12.1 General TLS Security")
    assert REQUIREMENTS["asvs"]["V3.4.1"].section.startswith("V3.4 Browser Security Mechanism")
    assert set(ASVS_SUMMARIES) <= set(REQUIREMENTS["asvs"])
    # The requirements the issue names are there.
    assert {"4.2.1", "8.3.1", "8.3.2", "6.2.4"} <= set(REQUIREMENTS["pci-dss"])


def test_the_core_rules_are_mapped_in_each_framework():
    def ids(rule_id, framework):
        return {m.requirement.id for m in mappings_for(rule_id, framework)}

    assert ids("KW403", "asvs") == {"V12.1.1"}
    assert ids("KW403", "pci-dss") == {"4.2.1"}
    assert ids("KW403", "nist-800-52") == {"3.1"}
    assert ids("KW110", "pci-dss") == {"8.3.2"}
    assert ids("KW140", "asvs") == {"V3.4.1"}
    assert ids("KW604", "nist-800-52") == {"3.2"}
    assert ids("KW413", "nist-800-52") == {"3.3.1"}
    assert ids("KW120", "asvs") == {"V14.2.1"}
    assert not mappings_for("KW106")  # a redirect loop breaks no requirement


def test_the_catalogue_data_imports_no_network_code():
    code = (
        "import sys, keywire.compliance as c; c.mappings_for('KW101'); "
        "print(sorted(m for m in sys.modules if m.startswith(('keywire', 'httpx', 'h11'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = eval(out)  # a list literal we printed
    assert not [
        m for m in loaded if m.startswith(("httpx", "h11", "keywire.net", "keywire.checks"))
    ]
    assert "keywire.rules" not in loaded


def test_by_requirement_groups_in_the_framework_order():
    findings = [
        RULES[i].finding(target="https://a.test/", message="m") for i in ("KW610", "KW403", "KW106")
    ]
    groups, unmapped = by_requirement(findings, "nist-800-52")
    assert [(r.id, [f.rule_id for f in fs]) for r, fs in groups] == [
        ("3.1", ["KW403"]),
        ("3.2", ["KW610"]),
    ]
    assert [f.rule_id for f in unmapped] == ["KW106"]


def test_rules_command_shows_the_mappings():
    runner = CliRunner()
    listing = runner.invoke(main, ["rules"])
    assert listing.exit_code == 0
    line = next(x for x in listing.output.splitlines() if x.startswith("KW403"))
    assert "asvs:V12.1.1" in line and "pci-dss:4.2.1" in line and "nist-800-52:3.1" in line
    one = runner.invoke(main, ["rules", "KW110"])
    assert one.exit_code == 0
    assert "Compliance:" in one.output
    assert "PCI DSS 8.3.2:" in one.output
    assert "source: PCI DSS v4.0.1, requirement 8.3.2" in one.output


def test_rule_pages_show_the_mappings():
    from keywire._ruledocs import render_rule_page

    page = render_rule_page(RULES["KW604"])
    assert "## Compliance" in page
    assert "| NIST SP 800-52 Rev. 2 | 3.2:" in page


@pytest.fixture
def tls_report(lab_api):
    return lab_api(hsts=None, cookies=("sid=1; Path=/",)).scan()


def test_reports_group_by_requirement(tls_report):
    report = tls_report
    assert {"KW140", "KW160"} <= {f.rule_id for f in report.findings}
    console = render(report, "console", framework="asvs")
    assert "By OWASP ASVS 5.0.0 requirement" in console
    assert re.search(r"^  V3\.3\.1 Cookies have the Secure", console, re.M)
    assert re.search(r"^    - KW160 \[", console, re.M)
    markdown = render(report, "markdown", framework="asvs")
    assert "### By OWASP ASVS 5.0.0 requirement" in markdown
    assert "- **V3.4.1**" in markdown
    rendered = MarkdownIt("commonmark", {"html": True}).render(markdown)
    assert "<script" not in rendered.lower()
    html = render(report, "html", framework="asvs")
    assert 'id="by-requirement"' in html and "V3.4.1" in html
    # Without --framework the reports are as before: no grouping, the mapping per finding only.
    assert "By OWASP" not in render(report, "console")
    assert "ASVS V3.4.1" in render(report, "markdown")
    assert "ASVS V3.4.1" in render(report, "html")
    # JSON and SARIF always carry every mapping.
    document = json.loads(render(report, "json"))
    kw140 = next(f for t in document["targets"] for f in t["findings"] if f["rule_id"] == "KW140")
    assert kw140["compliance"][0]["id"] == "V3.4.1"


def test_scan_framework_option(lab_api, tmp_path):
    api = lab_api(hsts=None)
    url = api.https.url + "/v1/resource"
    result = CliRunner().invoke(
        main,
        [
            "scan",
            url,
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--framework",
            "pci-dss",
            "--fail-on",
            "none",
            "--only",
            "hsts",
            "--no-config",
            "-o",
            f"markdown:{tmp_path / 'r.md'}",
            "-o",
            "-",
        ],
    )
    assert result.exit_code in (0, 3), result.output
    assert "By PCI DSS v4.0.1 requirement" in result.stdout
    assert "Not mapped to PCI DSS v4.0.1" in result.stdout  # HSTS is no PCI DSS requirement
    assert "### By PCI DSS v4.0.1 requirement" in (tmp_path / "r.md").read_text()
    bad = CliRunner().invoke(main, ["scan", url, "--framework", "iso27001"])
    assert bad.exit_code == 2
