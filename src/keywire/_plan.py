"""A scan's plan: which targets, each with the options it is scanned with.

Planning happens before any probe. URLs given by the user are parsed here; an API description
(``ScanOptions.spec``) is planned by :mod:`keywire.openapi.scanplan`, which loads it and returns
its endpoints and the description's own result. The runner (:mod:`keywire._scanner`) then scans
every planned target the same way, under one targets-in-flight limit and one deadline, and the
report is finished once (:func:`keywire.finish_report`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._dataclass import dataclass
from ._models import TargetResult
from .net.resolver import Resolver
from .options import GROUP_ALIASES, OPENAPI_GROUP
from .redact import redact_url
from .scanoptions import ScanOptions
from .targets import Target, TargetError, parse_target


@dataclass(frozen=True, kw_only=True)
class PlannedTarget:
    """One target and how to scan it."""

    target: Target
    options: ScanOptions
    #: Why nothing is probed on it ("" to scan it): reported as not scanned, at once.
    idle: str = ""
    #: Applied to its result before it is scored (the planner ties findings to its source).
    annotate: Callable[[TargetResult], TargetResult] | None = None


@dataclass(frozen=True, kw_only=True)
class ScanPlan:
    """The targets a scan will run, in order, and what planning already reported."""

    targets: tuple[PlannedTarget, ...]
    #: Results the planning itself produced, reported before the targets' (the spec's own).
    leading: tuple[TargetResult, ...] = ()


async def plan_scan(
    targets: Sequence[str | Target],
    options: ScanOptions,
    *,
    resolver: Resolver | None,
    deadline: float,
) -> ScanPlan:
    """The plan for ``targets`` (or, with ``options.spec``, for the description's endpoints)."""
    if options.spec is not None:
        from .openapi.scanplan import plan_spec_scan

        return await plan_spec_scan(targets, options, resolver=resolver, deadline=deadline)
    return plan_urls(targets, options)


def plan_urls(
    targets: Sequence[str | Target], options: ScanOptions, *, whole: bool = True
) -> ScanPlan:
    """Every distinct target, parsed; raises :class:`TargetError` before any traffic.

    ``whole=False`` plans one share of a scan already planned whole (a fleet worker's): an
    empty share, or one where no selected check applies to any target, is no usage error.
    """
    if not targets and whole:
        raise TargetError("no target given")
    parsed = [
        t
        if isinstance(t, Target)
        else parse_target(t, http_port=options.http_port, https_port=options.https_port)
        for t in targets
    ]
    idle = _nothing_applies(options, parsed, whole=whole)
    unique: dict[str, Target] = {}
    for target in parsed:
        unique.setdefault(target.url, target)
    return ScanPlan(
        targets=tuple(
            PlannedTarget(target=t, options=options, idle=idle.get(t.url, ""))
            for t in unique.values()
        )
    )


def _nothing_applies(
    options: ScanOptions, targets: Sequence[Target], *, whole: bool = True
) -> dict[str, str]:
    """Targets on which no selected family has anything to do, with why (known before traffic).

    Raises :class:`TargetError` (a usage error) when that is every target, or when the selection
    is empty: such a scan could only end in "nothing scanned".
    """
    families = options.selected()
    if not families:
        spec_only = set(options.only) & {OPENAPI_GROUP, *GROUP_ALIASES}
        hint = " (the spec checks need --spec)" if spec_only else ""
        raise TargetError(f"no check is selected: --only/--skip leave nothing to run{hint}")
    idle: dict[str, str] = {}
    for target in targets:
        reasons = [f.inapplicable(target) if f.inapplicable else None for f in families]
        if all(reasons):
            idle[target.url] = "no selected check applies: " + "; ".join(
                sorted({r for r in reasons if r})
            )
    if whole and targets and len(idle) == len({t.url for t in targets}):
        url, why = next(iter(idle.items()))
        raise TargetError(f"{redact_url(url)}: {why}")
    return idle
