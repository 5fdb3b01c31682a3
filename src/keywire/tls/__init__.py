"""keywire's own TLS client: raw ClientHellos, bounded parsing, and enumeration of what a server
accepts.

Layers, bottom up (each module small, the data tables apart):

    _wire ─ _constants ─ _suite_table ─ suites      bytes, numbers, the cipher suite registry
    hello · records · messages                     ClientHellos out; records and messages in
    connection                                     one bounded exchange per connection
    tls13                                          key schedule and decryption of the 1.3 flight
    scan  → results                                the enumeration, and the facts it returns
    certs                                          chain analysis against a trust store

Nothing here imports the HTTP stack; :mod:`keywire.checks.tls` turns the facts into findings.
Import the submodules you need (``from keywire.tls.scan import scan_endpoint``): this package
keeps its import light so a scan pays only for what it uses.
"""
