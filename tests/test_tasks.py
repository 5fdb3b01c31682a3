"""keywire._tasks.run: asyncio.run without formatting the scan's result at its end."""

from __future__ import annotations

import asyncio

import pytest

from keywire._tasks import run


def test_run_hands_back_the_result_without_it_being_the_main_tasks() -> None:
    """The main task's result is never formatted when asyncio.run ends (see _tasks.run)."""
    formatted: list[int] = []

    class Costly:
        def __repr__(self) -> str:
            formatted.append(1)
            return "Costly()"

    async def main() -> Costly:
        await asyncio.sleep(0)
        return Costly()

    result = run(main())
    assert isinstance(result, Costly)
    assert formatted == []  # (a plain asyncio.run formats it on CPython 3.11 when it ends)


def test_run_raises_what_the_coroutine_raises() -> None:
    async def main() -> None:
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        run(main())
