"""The tls family's report details: what the scan established, version by version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..tls._constants import Version, group_label
from ..tls.suites import by_code, ssl2_by_code
from . import _tls_depth

if TYPE_CHECKING:
    from .tls import TlsObservation


def _status(offered: bool | None) -> str:
    return {True: "offered", False: "not offered", None: "not tested"}[offered]


def details(obs: TlsObservation) -> Mapping[str, object]:
    scan = obs.scan
    if scan is None:
        return {"endpoint": obs.endpoint, "error": obs.failure or obs.skipped}
    found = {"found_through": "the cleartext side's redirect"} if obs.named_by_redirect else {}
    protocols: dict[str, object] = {}
    for p in scan.protocols:
        names = [
            ssl2_by_code(s.code).name if p.version == Version.SSL2 else by_code(s.code).name
            for s in p.suites
        ]
        protocols[p.label] = {
            "status": _status(p.offered),
            **({"reason": p.reason} if p.reason else {}),
            "suites": names,
            "suites_complete": p.suites_complete,
            "server_preference": p.server_preference,
        }
    dh = sorted({s.dh_bits for p in scan.protocols for s in p.suites if s.dh_bits})
    return {
        "endpoint": obs.endpoint,
        **found,
        "address": scan.address,
        "server_name": scan.server_name,
        "reachable": scan.reachable,
        **({"error": scan.error} if scan.error else {}),
        "protocols": protocols,
        "groups": {
            "tls13": None if scan.groups is None else [group_label(g) for g in scan.groups],
            "ecdhe_tls12": None
            if scan.groups_legacy is None
            else [group_label(g) for g in scan.groups_legacy],
            **({"note": scan.groups_legacy_note} if scan.groups_legacy_note else {}),
        },
        "dh_bits": dh,
        "fallback_scsv": scan.fallback_scsv,
        "secure_renegotiation": scan.secure_renegotiation,
        "compression": scan.compression,
        "ocsp_stapling": scan.ocsp_stapling,
        "alpn": None if scan.alpn is None else list(scan.alpn),
        "certificates": [c.to_json() for c in obs.chains],
        **_tls_depth.details(scan),
        "probes": {
            p.name: {
                "completed": p.completed,
                **({"skipped": True} if p.skipped else {}),
                **({"reason": p.reason} if p.reason else {}),
            }
            for p in scan.probes
        },
        "connections": scan.connections,
        "elapsed_ms": round(scan.elapsed_s * 1000, 1),
    }
