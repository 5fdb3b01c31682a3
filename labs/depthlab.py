"""The lab of the probes past the first flight: each flaw, and a near miss without it.

Three kinds of server, whichever can really show the behaviour:

- Python ``ssl`` profiles in :data:`labs.tlslab.SSL_PROFILES` (client-initiated
  renegotiation, composite and small-subgroup DH groups, a safe-prime near miss);
- :data:`RESPONDER_CASES`, the scripted responder playing old servers (Heartbleed, CCS
  injection, ROBOT oracles, reused ephemeral keys, long-lived tickets) with the certificate's
  key, so that real clients (sslyze) complete handshakes with it too;
- :data:`OPENSSL_CASES`, ``openssl s_server`` with and without 0-RTT and anti-replay;
- :data:`NGINX_CASES`, nginx as deployed: 0-RTT (without anti-replay: nginx leaves replays
  to the application), long session lifetimes, a session cache instead of tickets.

Each case names the rule IDs a scan must report (the responder speaks TLS 1.2 only, hence
KW406 everywhere) and its near miss, which must report the same minus the flaw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ECDHE-RSA-AES128-GCM-SHA256, and the RSA key exchange suite TLS_RSA_WITH_AES_128_GCM_SHA256.
ECDHE = (0xC02F,)
#: ECDHE-RSA-AES128-SHA (CBC).
ECDHE_CBC = (0xC013,)
WITH_RSA = (0xC02F, 0x009C)
TLS12 = (0x0303,)
STRONG_OPENSSL = "ECDHE+AESGCM:ECDHE+CHACHA20"


@dataclass(frozen=True)
class Case:
    """One lab server: how to configure it, what a scan must report, and its near miss."""

    settings: dict[str, Any] = field(default_factory=dict)
    expect: frozenset[str] = frozenset()
    near_miss: str = ""


def _case(expect: set[str], near_miss: str = "", **settings: Any) -> Case:
    return Case(settings=settings, expect=frozenset(expect), near_miss=near_miss)


#: ResponderProfile settings (besides certificate and key) by case name.
RESPONDER_CASES: dict[str, Case] = {
    "heartbleed": _case(
        {"KW406", "KW427"}, "heartbeat-patched", suites=ECDHE, heartbleed="vulnerable"
    ),
    "heartbeat-patched": _case({"KW406"}, suites=ECDHE, heartbleed="patched"),
    "ccs-injection": _case({"KW406", "KW428"}, "ccs-refused", suites=ECDHE, ccs_injection=True),
    # With a CBC suite the telltale alert is decryption_failed (what testssl.sh looks for).
    "ccs-injection-cbc": _case(
        {"KW406", "KW419", "KW428"}, "ccs-refused-cbc", suites=ECDHE_CBC, ccs_injection=True
    ),
    "ccs-refused-cbc": _case({"KW406", "KW419"}, suites=ECDHE_CBC),
    "ccs-refused": _case({"KW406"}, suites=ECDHE),
    "robot-strong": _case(
        {"KW406", "KW418", "KW429"}, "robot-none", suites=WITH_RSA, robot="strong"
    ),
    "robot-weak": _case({"KW406", "KW418", "KW430"}, "robot-none", suites=WITH_RSA, robot="weak"),
    "robot-none": _case({"KW406", "KW418"}, suites=WITH_RSA),
    "ephemeral-reuse": _case(
        {"KW406", "KW437"}, "ephemeral-fresh", suites=ECDHE, static_ephemeral=True
    ),
    "ephemeral-fresh": _case({"KW406"}, suites=ECDHE),
    # The responder never resumes its tickets: a long hint on a ticket the server refuses
    # suspends no forward secrecy, so it is not reported (nginx-long-tickets is the real case).
    "long-tickets-never-resumed": _case({"KW406"}, suites=ECDHE, ticket_lifetime=3 * 86400),
    "short-tickets": _case({"KW406"}, suites=ECDHE, ticket_lifetime=7200),
}

#: ``openssl s_server`` options by case name (TLS 1.2 and 1.3, ECDHE with AEAD only).
OPENSSL_CASES: dict[str, Case] = {
    "early-data": Case(
        settings={"options": ("-early_data",)},
        expect=frozenset({"KW431"}),
        near_miss="no-early-data",
    ),
    "early-data-replay": Case(
        settings={"options": ("-early_data", "-no_anti_replay")},
        expect=frozenset({"KW432"}),
        near_miss="no-early-data",
    ),
    "no-early-data": Case(settings={"options": ()}),
}

#: nginx ``server`` directives by case name.
NGINX_CASES: dict[str, Case] = {
    "nginx-early-data": Case(
        settings={"directives": ("ssl_early_data on",)},
        expect=frozenset({"KW432"}),
        near_miss="nginx-default",
    ),
    "nginx-long-tickets": Case(
        settings={"directives": ("ssl_session_timeout 3d",)},
        expect=frozenset({"KW433"}),
        near_miss="nginx-default",
    ),
    "nginx-session-cache": Case(
        settings={"directives": ("ssl_session_cache shared:keywire:1m", "ssl_session_tickets off")}
    ),
    "nginx-default": Case(),
}


def responder_profile(name: str, certificate: bytes, key: bytes) -> Any:
    """The :class:`~labs.tlsresponder.ResponderProfile` of responder case ``name``."""
    from .tlsresponder import ResponderProfile

    return ResponderProfile(
        versions=TLS12, certificate=certificate, key=key, **RESPONDER_CASES[name].settings
    )


def openssl_options(name: str) -> tuple[str, ...]:
    """The s_server options of OpenSSL case ``name``."""
    options: tuple[str, ...] = OPENSSL_CASES[name].settings["options"]
    return ("-cipher", STRONG_OPENSSL, *options)
