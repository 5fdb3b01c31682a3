"""The seed's API as it was written: the vulnerable starting point. Scan it, watch it grade F.

    python examples/seed_app.py                    # http://127.0.0.1:5000/v1/resource
    keywire scan http://127.0.0.1:5000/v1/resource

    python examples/seed_app.py --redirect         # with the seed's enforce_https "fix"

The code is :mod:`keywire.lab.seed` (``keywire demo`` serves the same app); this file only runs it.
Its remediation snippets and what replaces each of them are in docs/flask_keywire.md.
"""

from __future__ import annotations

import argparse
import shutil
import time

from keywire.lab.certs import LabPki, make_lab_pki
from keywire.lab.seed import create_redirect_app, create_seed_app
from keywire.lab.server import LabServer

app = create_seed_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--redirect",
        action="store_true",
        help="the enforce_https variant: HTTP redirects to an HTTPS side on --https-port",
    )
    parser.add_argument("--https-port", type=int, default=5443)
    args = parser.parse_args()
    if not args.redirect:
        with LabServer(app, port=args.port) as server:
            print(f"seed API on {server.url}/v1/resource (Ctrl-C to stop)")
            _wait()
        return
    pki = make_lab_pki()
    try:
        _serve_redirect(pki, args.port, args.https_port)
    finally:
        shutil.rmtree(pki.directory, ignore_errors=True)


def _serve_redirect(pki: LabPki, port: int, https_port: int) -> None:
    with (
        LabServer(create_seed_app(), port=https_port, ssl_context=pki.server_context()) as tls,
        LabServer(create_redirect_app(https_port=tls.port), port=port) as plain,
    ):
        print(f"seed API with enforce_https on {plain.url}/v1/resource -> {tls.url}")
        print(
            f"scan: keywire scan {plain.url}/v1/resource --https-port {tls.port} "
            f"--ca-file {pki.ca_file}"
        )
        _wait()


def _wait() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
