"""``keywire rules``: the rule catalogue, or one rule in full."""

from __future__ import annotations

import click

from ..rules import RULES, get_rule
from ._exit import (
    fail_usage,
)


@click.command("rules", short_help="List the rule catalogue, or show one rule in full.")
@click.argument("rule_id", required=False)
def rules_command(rule_id: str | None) -> None:
    """List the rule catalogue, or show one rule with its remediation."""
    from ..compliance import mappings_for

    if rule_id is None:
        width = max(len(r.title) for r in RULES.values())
        for rule in RULES.values():
            cwe = ",".join(f"CWE-{n}" for n in rule.cwe)
            listed = " ".join(f"{m.framework}:{m.requirement.id}" for m in mappings_for(rule.id))
            click.echo(
                (
                    f"{rule.id}  {rule.severity.value:<8}  {rule.category.value:<16}  "
                    f"{rule.title:<{width}}  {cwe:<16}  {listed}"
                ).rstrip()
            )
        return
    try:
        rule = get_rule(rule_id)
    except KeyError:
        fail_usage(f"unknown rule {rule_id!r}; `keywire rules` lists them")
    click.echo(f"{rule.id}: {rule.title}")
    click.echo(f"severity: {rule.severity.value}    category: {rule.category.title}")
    click.echo(
        f"CWE: {', '.join(f'CWE-{n}' for n in rule.cwe)}    OWASP API Top 10: {rule.owasp_api}"
    )
    if rule.grade_cap:
        click.echo(f"grade cap: {rule.grade_cap}")
    click.echo(f"\n{rule.description}\n\nFix: {rule.remediation}")
    if rule.flask_fix:
        click.echo(
            "\nIn Flask:\n"
            + "\n".join("    " + line for line in rule.flask_fix.rstrip().splitlines())
        )
    mapped = mappings_for(rule.id)
    if mapped:
        click.echo("\nCompliance:")
        for m in mapped:
            click.echo(f"  {m.requirement.label}: {m.requirement.title}")
            click.echo(f"      why: {m.why}")
            click.echo(f"      source: {m.citation}")
    click.echo("\nReferences:\n" + "\n".join(f"  {ref}" for ref in rule.references))
    click.echo(f"\nDocs: {rule.doc_path}")
