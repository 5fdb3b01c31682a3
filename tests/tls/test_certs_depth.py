"""What the certificate analysis reads for the item-9 checks, from real lab certificates."""

from __future__ import annotations

import datetime

from cryptography.hazmat.primitives.serialization import Encoding

from keywire.tls.certs import analyse_chain, load_trust_store


def test_describe_reads_eku_san_and_size_from_real_certificates(tls_pki) -> None:
    store = load_trust_store(str(tls_pki.ca_file))
    now = datetime.datetime.now(datetime.timezone.utc)

    def analyse(name):
        return analyse_chain(
            [tls_pki.leaves[name].cert.public_bytes(Encoding.DER)],
            hostname="localhost",
            store=store,
            now=now,
        )

    good, no_eku, client, cn_only = (
        analyse(n) for n in ("good", "no-eku", "eku-client", "cn-only")
    )
    assert good.leaf.extended_key_usage == ("serverAuth",) and good.leaf.has_san
    assert no_eku.leaf.extended_key_usage is None
    assert client.leaf.extended_key_usage == ("clientAuth",) and not client.trusted
    assert not cn_only.leaf.has_san and cn_only.leaf.common_name == "localhost"
    assert good.leaf.der_bytes == len(tls_pki.leaves["good"].cert.public_bytes(Encoding.DER))
    assert good.anchor_not_after == tls_pki.root.cert.not_valid_after_utc
