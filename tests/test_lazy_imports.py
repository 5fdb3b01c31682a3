"""A scan loads what it uses: sets of modules, checked in fresh processes (never milliseconds).

Start-up is most of a one-target scan, so these walls keep it lean (issue 12, item 5): the check
registry is a static table and a scan imports the families it runs; the secret catalogue compiles
an expression when its literal occurs; keywire's HTTP client is its own (no httpx, whose package
imports its command line, click, rich and pygments). What each costs is measured in
``bench/tls_bench.py`` and ``bench/http_bench.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from keywire.checks import REGISTRY

HTTP_FAMILIES = {e.module for e in REGISTRY if e.group == "http"}
TLS_FAMILIES = [e.name for e in REGISTRY if e.group == "tls"]
#: Never imported by keywire: it has its own HTTP client.
FOREIGN_HTTP = {"httpx", "httpcore", "anyio", "sniffio"}


def _modules_after(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; it must print a JSON object as its last line."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


_REPORT = """
import json, sys
from keywire.secrets.catalogue import CATALOGUE
loaded = sorted(sys.modules)
print(json.dumps({
    "modules": loaded,
    "compiled": [t.id for t in CATALOGUE if getattr(t.pattern, "compiled_yet", True)],
    "total": len(CATALOGUE),
}))
"""


def test_a_tls_only_scan_imports_no_http_family_and_compiles_no_secret_expression(lab_api):
    api = lab_api()
    found = _modules_after(
        "import keywire\n"
        f"report = keywire.scan({api.https.url!r}, options=keywire.ScanOptions("
        f"only=['tls'], ca_file={api.ca_file!r}, timeout=5))\n"
        "assert report.targets[0].scanned, report.targets[0].error\n"
        f"assert [o.check for o in report.outcomes] == {TLS_FAMILIES!r}\n" + _REPORT
    )
    modules = set(found["modules"])
    assert "keywire.checks.tls" in modules
    assert not HTTP_FAMILIES & modules, sorted(HTTP_FAMILIES & modules)
    assert not {"keywire.secrets.pii", "keywire.tokens.analysis", "h11", "jinja2"} & modules
    assert not FOREIGN_HTTP & {m.split(".")[0] for m in modules}
    # The report's texts pass through the secret detector (the last line of defence against a
    # quoted secret), which runs an expression only where its literal occurs: a word such as
    # "path" draws one or two of the catalogue's fifty-odd, not all of them.
    assert len(found["compiled"]) <= 3, found["compiled"]
    assert found["total"] >= 50


def test_a_full_scan_uses_no_foreign_http_stack(lab_api):
    api = lab_api()
    found = _modules_after(
        "import keywire\n"
        f"target = keywire.parse_target({api.https.url + '/v1/resource'!r}, "
        f"http_port={api.http.port})\n"
        f"report = keywire.scan([target], options=keywire.ScanOptions(ca_file={api.ca_file!r}, "
        "timeout=5))\n"
        "assert report.targets[0].scanned\n" + _REPORT
    )
    modules = set(found["modules"])
    assert modules >= HTTP_FAMILIES
    assert "h11" in modules
    assert not FOREIGN_HTTP & {m.split(".")[0] for m in modules}


def test_rules_and_selection_need_no_family():
    """Looking up a rule loads its family only; choosing families loads none."""
    found = _modules_after(
        "import json, sys\n"
        "from keywire.rules import get_rule, family_of\n"
        "from keywire.checks import SELECTABLE, select\n"
        "assert family_of('KW701') == 'exposure' and 'tls' in SELECTABLE\n"
        "assert [e.name for e in select(['exposure'])] == ['exposure']\n"
        "before = sorted(m for m in sys.modules if m.startswith('keywire.checks.'))\n"
        "get_rule('KW401')\n"
        "after = sorted(m for m in sys.modules if m.startswith('keywire.checks.'))\n"
        "print(json.dumps({'before': before, 'after': after}))"
    )
    assert found["before"] == []
    assert "keywire.checks.tls" in found["after"]
    assert not HTTP_FAMILIES & set(found["after"])


def test_a_command_loads_its_own_module_only():
    """Commands load on first use: `keywire scan` does not import watch, worker or mcp."""
    found = _modules_after(
        "import json, sys, click\n"
        "from keywire.cli import main\n"
        "main.get_command(click.Context(main), 'scan')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('keywire.cli.'))))"
    )
    assert "keywire.cli.scan" in found
    assert not {"keywire.cli.watch", "keywire.cli.worker", "keywire.cli.mcp"} & set(found)


def test_the_command_line_loads_no_scanner_until_a_command_runs():
    """`import keywire.cli` (every `keywire` process) pays for click and the option table only."""
    found = _modules_after("import json, sys, keywire.cli\nprint(json.dumps(sorted(sys.modules)))")
    loaded = set(found)
    heavy = {
        "asyncio",
        "ssl",
        "h11",
        "cryptography",
        "jinja2",
        "yaml",
        "rich",
        "tomllib",
        "keywire._scanner",
        "keywire.net.http",
        "keywire.checks._base",
        "keywire.tokens",
        "keywire.secrets",
        "keywire.openapi",
        "keywire.compliance",
        "keywire.baseline",
    }
    assert not {m for m in loaded if m.startswith("keywire.cli.") and m != "keywire.cli._exit"}
    assert not heavy & loaded, sorted(heavy & loaded)
    assert not {m for m in loaded if m.startswith("keywire.checks.")}
    assert not FOREIGN_HTTP & {m.split(".")[0] for m in loaded}
