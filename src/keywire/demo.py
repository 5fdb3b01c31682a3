"""``keywire demo``: scan the seed's vulnerable API in a local lab, without any network.

The lab starts real servers on 127.0.0.1 (ports chosen by the OS): the seed's Flask app over plain
HTTP, and the seed's ``enforce_https`` variant with its HTTPS side (certificate from a throwaway CA
made for the run). keywire scans them like any target and the servers stop afterwards.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from ._models import ScanReport
from ._scanner import ScanObserver, ScanOptions, scan
from .targets import Target, parse_target


class DemoUnavailable(RuntimeError):
    """The demo cannot run here (Flask missing)."""


@dataclass(frozen=True, kw_only=True)
class DemoLab:
    targets: tuple[Target, ...]
    labels: dict[str, str]
    ca_file: str


@contextmanager
def demo_lab() -> Iterator[DemoLab]:
    """Start the demo's servers; yield the targets to scan; stop everything on exit."""
    try:
        import flask  # noqa: F401
    except ImportError as exc:
        raise DemoUnavailable(
            "keywire demo runs the seed's Flask app: install it with pip install 'keywire[flask]'"
        ) from exc
    from .lab.certs import make_lab_pki
    from .lab.seed import create_redirect_app, create_seed_app
    from .lab.server import LabServer

    pki = make_lab_pki()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, pki.directory, True)
        seed = stack.enter_context(LabServer(create_seed_app()))
        tls = stack.enter_context(LabServer(create_seed_app(), ssl_context=pki.server_context()))
        redirecting = stack.enter_context(LabServer(create_redirect_app(https_port=tls.port)))
        seed_target = parse_target(f"{seed.url}/v1/resource")
        redirect_target = parse_target(f"{redirecting.url}/v1/resource", https_port=tls.port)
        yield DemoLab(
            targets=(seed_target, redirect_target),
            labels={
                seed_target.url: "the seed's API (keys in a dict, X-API-Key over HTTP)",
                redirect_target.url: "the seed's enforce_https variant (redirects to HTTPS)",
            },
            ca_file=str(pki.ca_file),
        )


def run_demo(
    options: ScanOptions | None = None, observer: ScanObserver | None = None
) -> tuple[ScanReport, dict[str, str]]:
    """Start the lab, scan it, stop it; return the report and a label per target URL."""
    options = options or ScanOptions()
    with demo_lab() as lab:
        demo_options = ScanOptions(
            timeout=min(options.timeout, 5.0),
            scan_timeout=min(options.scan_timeout, 60.0),
            ca_file=lab.ca_file,
            only=options.only,
            skip=options.skip,
        )
        report = scan(lab.targets, options=demo_options, observer=observer)
    return report, lab.labels
