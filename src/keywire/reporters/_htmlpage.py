"""What every keywire HTML page shares: the Jinja environment, the stylesheet, the CSP and how a
finding is shown.

The scan report (:mod:`keywire.reporters.html`) and the token report
(:mod:`keywire.tokens.html`) extend ``templates/_page.html.j2`` and show findings with the
``finding_block`` macro of ``templates/_finding.html.j2``. Autoescape is on for every template;
the stylesheet is the only text marked safe, and it is ours.

Every string a template prints is first made visible (:func:`keywire._display.visible`: control
characters and newlines from the target become escapes), so a page never carries a raw control
byte. Multi-line text keywire lays out itself (code, indented JSON) is passed as :func:`block`,
which keeps its line breaks and makes everything else visible and escaped.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from .._display import visible, visible_block
from .._models import Finding
from ..compliance import mappings_for
from ..rules import RULES
from ._common import cwe_labels, docs_url, status_labels, title_of


def _finalize(value: Any) -> Any:
    """Applied to every ``{{ expression }}`` before autoescape: strings become visible text."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def block(text: str) -> Markup:
    """Multi-line text for a ``<pre>``: line breaks kept, all else visible and HTML-escaped."""
    return escape(visible_block(text))


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("keywire", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )


@cache
def stylesheet(*names: str) -> str:
    """The named files of ``templates/`` joined, to inline in one ``<style>`` element."""
    folder = resources.files("keywire").joinpath("templates")
    return "".join(folder.joinpath(name).read_text("utf-8") for name in names)


def csp(css: str) -> str:
    """A Content-Security-Policy that allows nothing but the inline stylesheet ``css``."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; form-action 'none'; base-uri 'none'"


def finding_view(finding: Finding) -> dict[str, Any]:
    """What ``finding_block`` shows for ``finding``: the finding and its rule's texts."""
    rule = RULES.get(finding.rule_id)
    return {
        "finding": finding,
        "title": title_of(finding.rule_id),
        "cwe": cwe_labels(finding.rule_id),
        "docs": docs_url(finding.rule_id),
        "labels": status_labels(finding),
        "remediation": rule.remediation if rule else "",
        "flask_fix": block(rule.flask_fix.rstrip()) if rule and rule.flask_fix else "",
        "owasp": rule.owasp_api if rule else "",
        "compliance": [
            {"label": m.requirement.label, "title": m.requirement.title, "citation": m.citation}
            for m in mappings_for(finding.rule_id)
        ],
    }
