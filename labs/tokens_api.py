"""A lab API that issues tokens from good and bad generators, one route per generator.

Every route answers ``{"token": …}``, sets the same value as the ``session`` cookie and sends
it as ``X-Token``, so each can be sampled through every ``--from`` source. The generators are
plain functions too (``GENERATORS``), for the offline tests.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable


def _objectid_factory() -> Callable[[], str]:
    process = os.urandom(5).hex()
    counter = [secrets.randbelow(1 << 23)]
    lock = threading.Lock()

    def make() -> str:
        with lock:
            counter[0] = (counter[0] + 1) % (1 << 24)
            return f"{int(time.time()):08x}{process}{counter[0]:06x}"

    return make


def _mt_factory() -> Callable[[], str]:
    rng = random.Random(secrets.randbits(64))  # the weak generator under test
    lock = threading.Lock()

    def make() -> str:
        with lock:
            return str(rng.getrandbits(32))

    return make


def _lcg_factory() -> Callable[[], str]:
    # Knuth's MMIX LCG, full 64-bit state as 16 hex digits: 64 bits, and still predictable.
    state = [secrets.randbits(64)]
    lock = threading.Lock()

    def make() -> str:
        with lock:
            state[0] = (6364136223846793005 * state[0] + 1442695040888963407) % (1 << 64)
            return f"{state[0]:016x}"

    return make


def _md5_time() -> str:
    return hashlib.md5(str(int(time.time())).encode()).hexdigest()  # the weakness under test


def _counter_factory() -> Callable[[], str]:
    counter = [1_000_000 + secrets.randbelow(1000)]
    lock = threading.Lock()

    def make() -> str:
        with lock:
            counter[0] += 1
            return f"{counter[0]:010d}{secrets.token_hex(4)}"

    return make


def generators() -> dict[str, Callable[[], str]]:
    """Fresh generators (each with its own state), by route name."""
    return {
        "urlsafe": lambda: secrets.token_urlsafe(24),
        "uuid4": lambda: str(uuid.uuid4()),
        "uuid1": lambda: str(uuid.uuid1()),
        "objectid": _objectid_factory(),
        "mt": _mt_factory(),
        "lcg": _lcg_factory(),
        "md5time": _md5_time,
        "counter": _counter_factory(),
    }


#: What keywire must conclude about each generator: the weakness kinds it must report (the
#: strong generators: none at all).
EXPECTED = {
    "urlsafe": set(),
    "uuid4": set(),
    "uuid1": {"time_based"},
    "objectid": {"time_based"},
    "mt": {"predicted"},
    "lcg": {"predicted"},
    "md5time": {"predicted"},
    "counter": {"sequential"},
}


def create_tokens_app():  # type: ignore[no-untyped-def]
    from flask import Flask, jsonify

    app = Flask("keywire_tokens_lab")
    made = generators()

    def route(name: str, make: Callable[[], str]) -> None:
        def issue():  # type: ignore[no-untyped-def]
            token = make()
            response = jsonify(token=token, kind=name)
            response.set_cookie("session", token, secure=True, httponly=True)
            response.headers["X-Token"] = token
            return response

        app.add_url_rule(f"/{name}", f"issue_{name}", issue)

    for name, make in made.items():
        route(name, make)
    return app
