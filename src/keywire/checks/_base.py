"""What every check family is made of.

A family is two modules: its check (``keywire.checks.<name>``: its rules, a frozen observation
dataclass and ``check``, a pure function from the observation to findings) and its probe
(``keywire.probes.<name>``, the network work, thin). The scanner runs every selected family's
probe for a target concurrently, captures the observations (:mod:`keywire.observations`), then
runs each check. Nothing here does I/O: checks never import the network code.

A check that cannot reach a verdict raises :class:`CheckNotRun`: ``not_tested(reason)`` when something
went wrong (the report is then incomplete) or ``not_applicable(reason)`` when the check has nothing to
look at (no HTTPS side, for example). Silence from a check that returned normally is a pass.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from .._dataclass import dataclass
from .._models import Finding, OutcomeStatus
from ..net.models import Fetched, FetchFailure, HttpResponse
from ..targets import Target

ObsT = TypeVar("ObsT")
log = logging.getLogger("keywire")

CANARY_PREFIX = "kw_canary_"
REFUSAL_STATUSES = frozenset({403, 421, 426})


class CheckNotRun(Exception):
    """Raised by a check that could not reach a verdict (on all it examines).

    ``findings`` are what the check could still establish: a family of many probes may find
    weaknesses with some while others could not run.
    """

    def __init__(
        self, status: OutcomeStatus, reason: str, findings: Sequence[Finding] = ()
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.findings = tuple(findings)


def not_tested(reason: str, *, findings: Sequence[Finding] = ()) -> CheckNotRun:
    """Something prevented the check (a timeout, a reset): the report will say it is incomplete.

    Pass the ``findings`` established anyway when only part of the check could not run.
    """
    return CheckNotRun(OutcomeStatus.ERROR, reason, findings)


def not_applicable(reason: str) -> CheckNotRun:
    """The check has nothing to examine on this target (for example, no HTTPS side)."""
    return CheckNotRun(OutcomeStatus.SKIPPED, reason)


class Isolation:
    """Keeps one item's failure from losing the others: a probe that analyses many things it
    captured (every response, every candidate secret) runs each under :meth:`item`.

    A failure is logged and counted, never raised; the probe puts :attr:`errors` into its
    observation as ``internal_errors``, and the scanner then reports the family as not tested
    (internal error), keeping every finding the other items produced.

    >>> isolation = Isolation()
    >>> with isolation.item("parsing a body"):
    ...     raise RecursionError("deep")
    >>> isolation.errors
    ('RecursionError while parsing a body',)
    """

    def __init__(self) -> None:
        self._errors: list[str] = []

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def record(self, what: str, exc: BaseException) -> None:
        # The exception's text is never shown: it may quote what the target sent.
        log.debug("internal error while %s", what, exc_info=exc)
        self.add(f"{type(exc).__name__} while {what}")

    def add(self, error: str) -> None:
        """Record a failure already described (by a helper that isolated it itself)."""
        self._errors.append(error)

    @contextlib.contextmanager
    def item(self, what: str) -> Iterator[None]:
        """Run the block; an ``Exception`` in it is recorded (``what`` names the item)."""
        try:
            yield
        except Exception as exc:
            self.record(what, exc)


def internal_error(problems: Sequence[str], *, kept: bool = True) -> str:
    """The reason of a family that hit a bug in keywire. Never the exception's text: it may
    quote what the target sent (or a credential)."""
    distinct = list(dict.fromkeys(problems))
    shown = "; ".join(distinct[:3]) + (
        f" (and {len(distinct) - 3} more)" if len(distinct) > 3 else ""
    )
    kept_note = "; the findings it made are kept" if kept else ""
    return f"internal error in keywire ({shown}){kept_note}"


@dataclass(frozen=True, kw_only=True)
class Family(Generic[ObsT]):
    """One check family: its observation type and its pure check (see the module docstring).

    Its rules are its module's ``RULES``, and which rules it reports is the registry's to say
    (:mod:`keywire.registry`); its probe is in :mod:`keywire.probes`.
    """

    name: str
    title: str
    group: str
    #: The frozen dataclass its probe returns and its check judges (saved by
    #: ``--save-observations``, read back by ``keywire judge``).
    observation: type[ObsT]
    check: Callable[[ObsT], Iterable[Finding]]
    details: Callable[[ObsT], Mapping[str, object]] | None = None
    #: Why the family has nothing to do on a target, known before any traffic (None: it may).
    #: A scan whose selected families all say so is a usage error, not an empty scan.
    inapplicable: Callable[[Target], str | None] | None = None


def is_refusal(fetched: Fetched) -> bool:
    """True when the server refused a cleartext exchange the way the IETF BCP asks."""
    if isinstance(fetched, FetchFailure):
        return fetched.is_refusal
    return fetched.status in REFUSAL_STATUSES


def serves_content(response: HttpResponse) -> bool:
    """A response that is neither a refusal nor a redirect: the request was processed."""
    return not response.is_redirect and response.status not in REFUSAL_STATUSES
