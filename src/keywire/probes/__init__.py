"""Probes: the only code of the check families that does I/O.

One module per family, named as its check (``keywire.probes.hsts`` beside
``keywire.checks.hsts``), each with ``async def probe(ctx: ProbeContext) -> Observation``: it
sends what the family needs (through :class:`~keywire.probes._context.ProbeContext`, which
shares exchanges between families), and returns the family's frozen observation, with secrets
already reduced to their redacted form where it extracted them. The check
(:mod:`keywire.checks`) is then a pure function of that observation; the scanner captures it
(:mod:`keywire.observations`: bounded, secrets and the canary scrubbed) before the check judges
it, so ``keywire judge`` reaches the same verdicts from a saved file.

The walls (``tests/test_walls.py`` and the ``lint-imports`` contracts in ``pyproject.toml``):
probes may import checks (for their observation types); checks never import probes, the HTTP
client, the TLS dialer or asyncio.
"""
