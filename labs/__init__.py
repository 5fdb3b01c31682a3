"""The lab the tests and the benchmarks share: real servers on loopback, never shipped.

Flask apps for every check (``apps``), hostile raw-socket servers (``raw``), TLS servers with
chosen protocols, suites and certificates (``tlslab``, ``tlsserver``, ``tlsliteserver``,
``tlsresponder``, ``gnutls``), the spec lab (``spec_api``) and the token lab (``tokens_api``).
Only the demo's apps and their PKI ship in the package (:mod:`keywire.lab`).

Tests import it through pytest's ``pythonpath`` setting; bench scripts put the repository root on
``sys.path``. Nothing here listens anywhere but 127.0.0.1 (or ::1).
"""
