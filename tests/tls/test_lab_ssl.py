"""Each Python ``ssl`` lab profile yields exactly the findings it lists; near misses none."""

from __future__ import annotations

import pytest

from labs.tlslab import SSL_PROFILES, SslProfile, profile

from .conftest import completed, rule_ids, scan_tls


@pytest.mark.parametrize("item", SSL_PROFILES, ids=lambda p: p.name)
def test_profile_yields_exactly_its_findings(tls_lab, tls_pki, item: SslProfile) -> None:
    server = tls_lab.start(item)
    result = scan_tls(tls_lab.url(item, server), ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == set(item.expect), [f.message for f in result.findings]


@pytest.mark.parametrize("item", [p for p in SSL_PROFILES if p.expect], ids=lambda p: p.name)
def test_every_weak_profile_has_a_near_miss_without_its_findings(item: SslProfile) -> None:
    assert item.near_miss, f"{item.name} names no near miss"
    # The near miss is scanned by the test above, which checks it yields no finding.
    assert not profile(item.near_miss).expect
