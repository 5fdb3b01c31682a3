"""Each Python ``ssl`` lab profile yields exactly the findings it lists; near misses none."""

from __future__ import annotations

import pytest

from keywire.lab.tlslab import SSL_PROFILES, SslProfile, profile

from .conftest import completed, rule_ids, scan_tls


@pytest.mark.parametrize("item", SSL_PROFILES, ids=lambda p: p.name)
def test_profile_yields_exactly_its_findings(tls_lab, tls_pki, item: SslProfile) -> None:
    server = tls_lab.start(item)
    result = scan_tls(tls_lab.url(item, server), ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == set(item.expect), [f.message for f in result.findings]
    if item.near_miss_of:
        assert profile(item.near_miss_of).expect, "a near miss shadows a profile with findings"
        assert not result.findings
