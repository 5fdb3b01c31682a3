"""The seed's API fixed with flask_keywire and served over HTTPS. Scan it, watch it grade A.

    export KEYWIRE_PEPPER="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    flask --app examples/hardened_app keywire create --name client-a --scopes read
    python examples/hardened_app.py       # HTTPS on 127.0.0.1:8443, cleartext 8080 refuses (403)
    keywire scan https://127.0.0.1:8443/v1/resource --http-port 8080 --ca-file <printed CA file>

Without ``--cert``/``--key`` it makes a throwaway CA and certificate (EC P-256) for 127.0.0.1 and
prints the CA file to pass to ``keywire scan --ca-file`` or ``curl --cacert``. TLS comes from
:func:`flask_keywire.server_context`: TLS 1.2 and 1.3, ECDHE key exchange, AEAD ciphers only.

The application itself is :func:`keywire.lab.hardened.create_hardened_app`, the one
``keywire demo`` scans; docs/flask_keywire.md walks through it line by line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import sys
import time

from flask_keywire import server_context
from keywire.lab.certs import make_lab_pki
from keywire.lab.hardened import create_hardened_app
from keywire.lab.server import LabServer

DATABASE = os.environ.get("KEYWIRE_EXAMPLE_DB", "keywire-example.sqlite3")

if __name__ == "__main__" and not os.environ.get("KEYWIRE_PEPPER"):
    sys.exit("set KEYWIRE_PEPPER first (see the top of this file)")

# Module-level app for `flask --app examples/hardened_app keywire ...`. The pepper is read from
# the environment, never written in code; flask_keywire refuses to hash keys without one.
app = create_hardened_app(
    store=f"sqlite:///{os.path.abspath(DATABASE)}", pepper=os.environ.get("KEYWIRE_PEPPER", "")
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port")
    parser.add_argument(
        "--http-port",
        type=int,
        default=8080,
        help="cleartext port that refuses everything with 403 (0: do not listen)",
    )
    parser.add_argument("--cert", help="certificate chain (PEM); default: a throwaway lab CA")
    parser.add_argument("--key", help="private key of --cert (PEM)")
    args = parser.parse_args()
    if args.cert:
        serve(server_context(args.cert, args.key), args.port, args.http_port)
        return
    pki = make_lab_pki()
    print(f"throwaway CA (pass to --ca-file / --cacert): {pki.ca_file}")
    try:
        serve(server_context(pki.cert_file, pki.key_file), args.port, args.http_port)
    finally:
        shutil.rmtree(pki.directory, ignore_errors=True)


def serve(context: ssl.SSLContext, port: int, http_port: int) -> None:
    with LabServer(app, port=port, ssl_context=context) as https_server:
        print(f"hardened API on {https_server.url}/v1/resource")
        if http_port:
            with LabServer(app, port=http_port) as http_server:
                print(f"cleartext side on {http_server.url} (403 for every request)")
                _wait()
        else:
            _wait()


def _wait() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
