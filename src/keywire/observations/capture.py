"""Capture a target's observations, then judge them: the step between probes and checks.

The scanner hands every family's probe result to :func:`capture`, which encodes them (one table
of exchanges per target, see :mod:`._codec`), scrubs them (:mod:`._scrub`) and decodes them
again: the check judges exactly what ``--save-observations`` writes, so ``keywire judge`` on the
file reaches the same verdicts by construction. :func:`judge_family` is the judging itself,
shared by the scan and by ``keywire judge``.

Most observations leave the scrubbing as they came (no canary, no secret, no cookie, a short
body): when the encoder says that decoding one would give back an equal value of the same types
(:attr:`~._codec.Encoder.exact`) and no secret was found in the target's strings, the check
judges the observation itself, and the decoding is skipped. ``KEYWIRE_VERIFY_CAPTURE=1`` (the
test suite sets it) decodes those too and fails loudly if any differs in value or type.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .._dataclass import dataclass
from .._models import CheckOutcome, Finding, OutcomeStatus
from ..checks._base import CheckNotRun, Family, internal_error
from ._codec import CodecError, Encoder, JsonValue
from ._decode import Decoder
from ._scrub import Scrubber, mask_secret_strings

log = logging.getLogger("keywire")

#: Set to "1": decode even what the encoder called exact, and compare (see the docstring).
VERIFY_ENV = "KEYWIRE_VERIFY_CAPTURE"


@dataclass(frozen=True)
class ProbeFailed:
    """A probe that returned no observation (the deadline, a bug), and the outcome's reason."""

    reason: str


@dataclass(frozen=True)
class Captured:
    """One family's probe as its check sees it: the observation, or why there is none."""

    observation: Any = None
    failure: str = ""


@dataclass(frozen=True)
class CapturedTarget:
    """Every family's :class:`Captured`, and the JSON-ready data a file keeps of them."""

    families: Mapping[str, Captured]
    data: Mapping[str, JsonValue]


def capture(
    families: Sequence[Family[Any]],
    probed: Mapping[str, object],
    scrubber: Scrubber,
    *,
    endpoint: object = None,
) -> CapturedTarget:
    """Encode, scrub and decode each family's probe result (an observation or a
    :class:`ProbeFailed`); a failure to capture one is that family's internal error."""
    encoder = Encoder(text=scrubber.text, response=scrubber.response)
    entries: list[dict[str, JsonValue]] = []
    exact: dict[str, object] = {}  # the observations that decode to themselves
    for family in families:
        result = probed[family.name]
        if isinstance(result, ProbeFailed):
            entries.append({"family": family.name, "failed": result.reason})
            continue
        encoder.exact = True
        try:
            data = encoder.encode(result, family.observation)
        except Exception as exc:  # a bug in keywire: the family is not tested, the others are
            log.debug("capturing the observation of %s failed", family.name, exc_info=exc)
            reason = internal_error([f"{type(exc).__name__} while capturing it"], kept=False)
            entries.append({"family": family.name, "failed": reason})
            continue
        if encoder.exact:
            exact[family.name] = result
        entries.append({"family": family.name, "observation": data})
    tree: dict[str, JsonValue] = {"families": entries, "exchanges": encoder.exchanges}
    if endpoint is not None:
        from ..openapi.plan import Endpoint

        tree["endpoint"] = encoder.encode(endpoint, Endpoint)
    scrubbed = scrub_strings(tree)
    if scrubbed is not tree:
        exact = {}  # a secret was replaced somewhere: every observation is read back
    captured = restore(scrubbed, families, strict=False, known=exact)
    if exact and os.environ.get(VERIFY_ENV) == "1":
        _verify(captured, restore(scrubbed, families, strict=False))
    return CapturedTarget(families=captured, data=scrubbed)


def _verify(captured: Mapping[str, Captured], decoded: Mapping[str, Captured]) -> None:
    """Raise ``AssertionError`` when an observation judged as it was differs, in a value or a
    type, from what decoding its data gives (see the module docstring)."""
    for name, entry in captured.items():
        where = _difference(entry.observation, decoded[name].observation, name)
        if where or entry.failure != decoded[name].failure:
            raise AssertionError(f"capture: {where or name} differs once decoded")


def _difference(kept: object, decoded: object, path: str) -> str:
    """Where ``kept`` and ``decoded`` first differ in type or value, or ``""``."""
    import dataclasses

    if type(kept) is not type(decoded):
        return f"{path} ({type(kept).__name__} / {type(decoded).__name__})"
    if dataclasses.is_dataclass(kept) and not isinstance(kept, type):
        return next(
            (
                d
                for item in dataclasses.fields(kept)
                if (
                    d := _difference(
                        getattr(kept, item.name), getattr(decoded, item.name), f"{path}.{item.name}"
                    )
                )
            ),
            "",
        )
    if isinstance(kept, tuple | list) and isinstance(decoded, tuple | list):
        if len(kept) != len(decoded):
            return f"{path} (length)"
        return next(
            (d for k, v in zip(kept, decoded, strict=True) if (d := _difference(k, v, path))), ""
        )
    if isinstance(kept, dict) and isinstance(decoded, dict):
        if list(kept) != list(decoded):
            return f"{path} (keys)"
        return next((d for k in kept if (d := _difference(kept[k], decoded[k], path))), "")
    if isinstance(kept, float) and kept != kept and decoded != decoded:
        return ""  # NaN
    return "" if kept == decoded else path


def capture_spec(
    model: object, summary: Mapping[str, object], *, run_checks: bool, headers: Mapping[str, str]
) -> dict[str, JsonValue]:
    """What a file keeps of an API description: its model (the static checks' observation),
    what was planned from it, and whether the static checks ran."""
    from ..openapi.model import ApiSpec

    scrubber = Scrubber(credentials=tuple(headers.values()))
    data = Encoder(text=scrubber.text).encode(model, ApiSpec)
    spec = {"run_checks": run_checks, "summary": dict(summary), "model": data}
    return {"spec": scrub_strings(spec)}


def restore(
    tree: Mapping[str, JsonValue],
    families: Sequence[Family[Any]],
    *,
    strict: bool = True,
    known: Mapping[str, object] | None = None,
) -> dict[str, Captured]:
    """Each family's :class:`Captured` from a target's data (as :func:`capture` made it).

    ``strict``: data that does not decode raises :class:`CodecError` (a file); otherwise the
    family is not tested, with an internal error (the scan's own data: a bug in keywire).
    ``known``: observations already at hand that their data decodes to (not decoded again).
    """
    decoder = Decoder(tree.get("exchanges", []))
    by_name = {f.name: f for f in families}
    found: dict[str, Captured] = {}
    for entry in tree.get("families", []):
        if not isinstance(entry, Mapping) or entry.get("family") not in by_name:
            raise CodecError("families: an entry of no known family")
        family = by_name[entry["family"]]
        if family.name in found:
            raise CodecError(f"families: {family.name} appears twice")
        if "failed" in entry:
            reason = entry["failed"]
            if not isinstance(reason, str):
                raise CodecError(f"families.{family.name}.failed: expected a string")
            found[family.name] = Captured(failure=reason[:300])
            continue
        if known and family.name in known:
            found[family.name] = Captured(observation=known[family.name])
            continue
        try:
            observation = decoder.decode(
                entry.get("observation"), family.observation, f"{family.name}"
            )
        except CodecError as exc:
            if strict:
                raise
            log.debug("restoring the observation of %s failed: %s", family.name, exc)
            reason = internal_error(["CodecError while capturing it"], kept=False)
            found[family.name] = Captured(failure=reason)
            continue
        found[family.name] = Captured(observation=observation)
    return found


def scrub_strings(tree: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """``tree`` with every known-format secret in its strings (bodies excepted: they were
    masked already) replaced by its redacted form, found in one detector pass."""
    strings: list[str] = []
    _strings(tree, strings)
    shown = mask_secret_strings(strings)
    if not shown:
        return tree
    replaced = _replace(tree, shown)
    assert isinstance(replaced, dict)
    return replaced


def _strings(node: JsonValue, into: list[str]) -> None:
    if isinstance(node, str):
        into.append(node)
    elif isinstance(node, dict):
        if len(node) == 1 and ("$text" in node or "$base64" in node):
            return
        for key, value in node.items():
            into.append(key)
            _strings(value, into)
    elif isinstance(node, list):
        for item in node:
            _strings(item, into)


def _replace(node: JsonValue, shown: Mapping[str, str]) -> JsonValue:
    if isinstance(node, str):
        for raw, redacted in shown.items():
            if raw in node:
                node = node.replace(raw, redacted)
        return node
    if isinstance(node, dict):
        if len(node) == 1 and ("$text" in node or "$base64" in node):
            return node
        return {_replace(k, shown): _replace(v, shown) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(item, shown) for item in node]
    return node


def judge_family(
    family: Family[Any], captured: Captured, target: str
) -> tuple[CheckOutcome, list[Finding], Mapping[str, object] | None]:
    """The outcome, findings and details of one family's captured observation.

    A failure inside a family never removes what it had already established: a check that
    yields its findings keeps those yielded before it failed, and the internal errors a probe
    isolated (``observation.internal_errors``, see :class:`~keywire.checks._base.Isolation`)
    keep the findings of everything else it examined. Either way the family is "not tested"
    with the reason, so the report says it is incomplete.
    """

    def outcome(status: OutcomeStatus, reason: str = "") -> CheckOutcome:
        return CheckOutcome(check=family.name, target=target, status=status, reason=reason[:300])

    if captured.failure:
        return outcome(OutcomeStatus.ERROR, captured.failure), [], None
    observation = captured.observation
    problems = [str(p) for p in getattr(observation, "internal_errors", ())]
    detail: Mapping[str, object] | None = None
    if family.details is not None:
        try:
            detail = family.details(observation)
        except Exception as exc:  # the details are a courtesy; the findings still count
            log.debug("details of %s failed", family.name, exc_info=exc)
            problems.append(f"{type(exc).__name__} in the details")
    found: list[Finding] = []
    status, reason = OutcomeStatus.COMPLETED, ""
    try:
        for finding in family.check(observation):
            found.append(finding)
    except CheckNotRun as stop:
        yielded = {f.fingerprint for f in found}
        found.extend(f for f in stop.findings if f.fingerprint not in yielded)
        status, reason = stop.status, stop.reason
    except Exception as exc:  # a broken check must not take the scan (or its findings) down
        log.debug("check %s failed", family.name, exc_info=exc)
        problems.insert(0, f"{type(exc).__name__} in the check")
    if problems:
        status, reason = OutcomeStatus.ERROR, internal_error(problems, kept=bool(found))
    return outcome(status, reason), found, detail
