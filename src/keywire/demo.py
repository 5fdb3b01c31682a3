"""``keywire demo``: scan the seed's vulnerable API and its flask_keywire fix in a local lab.

The lab starts real servers on 127.0.0.1 (ports chosen by the OS): the seed's Flask app over plain
HTTP, the seed's ``enforce_https`` variant with its HTTPS side, and the same API hardened with
flask_keywire, over HTTPS with its cleartext side refusing every request with 403 (certificates
from a throwaway CA made for the run). keywire scans them like any target, shows F → A, and the
servers stop afterwards.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from ._dataclass import dataclass
from ._models import ScanReport
from ._scanner import ScanObserver, scan
from .scanoptions import ScanOptions
from .targets import Target, parse_target

if TYPE_CHECKING:
    from ._models import Gate
    from .baseline import Baseline
    from .config import Config

SEED_LABEL = "the seed's API (keys in a dict, X-API-Key over HTTP)"
REDIRECT_LABEL = "the seed's enforce_https variant (redirects to HTTPS)"
HARDENED_LABEL = "the same API with flask_keywire (HTTPS; cleartext refused with 403)"


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
            "keywire demo runs the seed's Flask app: install Flask beside keywire with "
            "pip install 'flask>=3.0' (or pip install '.[flask]' in keywire's checkout)"
        ) from exc
    from flask_keywire import SQLiteKeyStore, server_context

    from .lab.certs import make_lab_pki
    from .lab.hardened import create_hardened_app
    from .lab.seed import create_redirect_app, create_seed_app
    from .lab.server import LabServer

    pki = make_lab_pki()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, pki.directory, True)
        seed = stack.enter_context(LabServer(create_seed_app()))
        tls = stack.enter_context(LabServer(create_seed_app(), ssl_context=pki.server_context()))
        redirecting = stack.enter_context(LabServer(create_redirect_app(https_port=tls.port)))
        hardened = create_hardened_app(
            store=SQLiteKeyStore(pki.directory / "keys.sqlite3"), pepper=secrets.token_urlsafe(48)
        )
        with hardened.app_context():
            # A key exists, as in a real deployment; the scan never sees it.
            hardened.extensions["keywire"].extension.create_key("client-a", scopes=["read"])
        hardened_tls = stack.enter_context(
            LabServer(hardened, ssl_context=server_context(pki.cert_file, pki.key_file))
        )
        hardened_http = stack.enter_context(LabServer(hardened))
        seed_target = parse_target(f"{seed.url}/v1/resource")
        redirect_target = parse_target(f"{redirecting.url}/v1/resource", https_port=tls.port)
        hardened_target = parse_target(
            f"{hardened_tls.url}/v1/resource", http_port=hardened_http.port
        )
        yield DemoLab(
            targets=(seed_target, redirect_target, hardened_target),
            labels={
                seed_target.url: SEED_LABEL,
                redirect_target.url: REDIRECT_LABEL,
                hardened_target.url: HARDENED_LABEL,
            },
            ca_file=str(pki.ca_file),
        )


def run_demo(
    options: ScanOptions | None = None,
    observer: ScanObserver | None = None,
    *,
    config: Config | None = None,
    baseline: Baseline | None = None,
    gate: Gate | None = None,
) -> tuple[ScanReport, dict[str, str]]:
    """Start the lab, scan it, stop it; return the report and a label per target URL.

    ``config``, ``baseline`` and ``gate`` finish the report as :func:`keywire.scan` does.
    """
    options = options or ScanOptions()
    with demo_lab() as lab:
        demo_options = ScanOptions(
            timeout=min(options.timeout, 5.0),
            scan_timeout=min(options.scan_timeout or 60.0, 60.0),
            target_timeout=min(options.target_timeout, 60.0),
            ca_file=lab.ca_file,
            only=options.only,
            skip=options.skip,
        )
        report = scan(
            lab.targets,
            options=demo_options,
            observer=observer,
            config=config,
            baseline=baseline,
            gate=gate,
        )
    return report, lab.labels


def closing_line(report: ScanReport, labels: dict[str, str]) -> str | None:
    """One sentence with the seed's grade and the hardened API's, e.g. "F → A"."""
    grades = {labels.get(t.target): t.score.grade for t in report.targets if t.score is not None}
    before, after = grades.get(SEED_LABEL), grades.get(HARDENED_LABEL)
    if before is None or after is None:
        return None
    return (
        f"{before} → {after}: the seed's API grades {before}; the same API with flask_keywire "
        f"grades {after} (see docs/flask_keywire.md)."
    )
