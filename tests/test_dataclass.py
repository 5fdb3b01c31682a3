"""keywire's ``dataclass`` behaves as the standard library's, class shape by class shape.

Each shape is declared twice, once with each decorator, and the two are compared on equality,
hashing, ``repr``, construction, immutability and the dataclass API.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import pickle
from typing import Any

import pytest

from keywire import _dataclass

SHAPES = (
    "frozen_kw",
    "frozen",
    "mutable",
    "explicit",
    "eq_in_body",
    "field_flags",
    "fallback",
    "derived",
    "init_var",
)


def _declare(decorate: Any) -> dict[str, Any]:
    """The same class shapes, declared with ``decorate``."""

    @decorate(frozen=True, kw_only=True)
    class FrozenKw:
        name: str
        port: int = 443
        tags: tuple[str, ...] = ()

    @decorate(frozen=True)
    class Frozen:
        value: float
        items: list[int] = dataclasses.field(default_factory=list)

    @decorate
    class Mutable:
        count: int = 0

    @decorate(frozen=True, repr=False)
    class Explicit:
        """Its own repr and hash, which the decorator keeps."""

        key: str

        def __repr__(self) -> str:
            return "Explicit(<hidden>)"

        def __hash__(self) -> int:
            return 7

    @decorate(frozen=True)
    class EqInBody:
        key: str

        def __eq__(self, other: object) -> bool:
            return True

    @decorate(frozen=True, kw_only=True)
    class FieldFlags:
        shown: str
        secret: str = dataclasses.field(default="", repr=False)
        note: str = dataclasses.field(default="", compare=False)
        weight: int = dataclasses.field(default=0, hash=False)

    @decorate(frozen=True, order=True)
    class Fallback:
        rank: int

    @decorate(frozen=True)
    class Derived:
        self: int  # a field named self: __init__ names its first parameter otherwise
        fixed: str = dataclasses.field(default="f", init=False)
        made: list[int] = dataclasses.field(default_factory=lambda: [1], init=False)
        total: int = dataclasses.field(default=0, init=False, compare=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", self.self + len(self.made))

    @decorate(frozen=True, kw_only=True)
    class WithInitVar:
        start: dataclasses.InitVar[int]
        value: int = 0

        def __post_init__(self, start: int) -> None:
            object.__setattr__(self, "value", start * 2)

    return {
        "frozen_kw": FrozenKw,
        "frozen": Frozen,
        "mutable": Mutable,
        "explicit": Explicit,
        "eq_in_body": EqInBody,
        "field_flags": FieldFlags,
        "fallback": Fallback,
        "derived": Derived,
        "init_var": WithInitVar,
    }


def _samples(shape: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    return {
        "frozen_kw": [((), {"name": "a"}), ((), {"name": "a", "port": 80, "tags": ("x",)})],
        "frozen": [((1.5,), {}), ((float("nan"),), {}), ((2.0, [1, 2]), {})],
        "mutable": [((), {}), ((3,), {})],
        "explicit": [(("k",), {}), (("j",), {})],
        "eq_in_body": [(("k",), {}), (("j",), {})],
        "field_flags": [
            ((), {"shown": "s"}),
            ((), {"shown": "s", "secret": "p", "note": "n", "weight": 2}),
            ((), {"shown": "s", "note": "other", "weight": 9}),
        ],
        "fallback": [((1,), {}), ((2,), {})],
        "derived": [((1,), {}), ((2,), {})],
        "init_var": [((), {"start": 2}), ((), {"start": 3, "value": 1})],
    }[shape]


@_dataclass.dataclass(frozen=True, kw_only=True)
class Point:
    x: int
    y: int


OURS = _declare(_dataclass.dataclass)
THEIRS = _declare(dataclasses.dataclass)


def _hash(obj: object) -> object:
    try:
        return hash(obj)
    except TypeError as exc:
        return type(exc)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_behaves_as_the_standard_library(shape: str) -> None:
    ours, theirs = OURS[shape], THEIRS[shape]
    assert [f.name for f in dataclasses.fields(ours)] == [
        f.name for f in dataclasses.fields(theirs)
    ]
    assert ours.__match_args__ == theirs.__match_args__
    assert ours.__doc__ == theirs.__doc__
    made = [(ours(*a, **k), theirs(*a, **k)) for a, k in _samples(shape)]
    for mine, std in made:
        assert repr(mine) == repr(std)
        assert _hash(mine) == _hash(std)
        assert (mine == mine) == (std == std)  # NaN: the tuples compare by identity first
        assert (mine != mine) == (std != std)
        assert (mine == object()) == (std == object())
        assert dataclasses.asdict(mine) == dataclasses.asdict(std)
        assert vars(mine) == vars(std)
        assert dataclasses.is_dataclass(mine)
    for (mine_a, std_a), (mine_b, std_b) in itertools.pairwise(made):
        assert (mine_a == mine_b) == (std_a == std_b)
    assert type(ours.__hash__) is type(theirs.__hash__)


@pytest.mark.parametrize("shape", ["frozen_kw", "frozen", "field_flags", "explicit"])
def test_frozen_classes_refuse_assignment_and_deletion(shape: str) -> None:
    args, kwargs = _samples(shape)[0]
    obj = OURS[shape](*args, **kwargs)
    name = dataclasses.fields(obj)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, name, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(obj, name)


def test_fields_left_out_of_compare_and_hash_are_left_out() -> None:
    flags = OURS["field_flags"]
    one = flags(shown="s", note="a", weight=1)
    two = flags(shown="s", note="b", weight=1)
    three = flags(shown="s", note="a", weight=2)
    assert one == two  # note: compare=False
    assert one != three and hash(one) == hash(three)  # weight: compared, not hashed
    assert "secret" not in repr(flags(shown="s", secret="hunter2"))


def test_replace_pickle_and_recursion() -> None:
    frozen = OURS["frozen_kw"](name="a")
    changed = dataclasses.replace(frozen, port=8443)
    assert changed.port == 8443 and changed.name == "a" and changed != frozen
    point = Point(x=1, y=2)
    assert pickle.loads(pickle.dumps(point)) == point
    mutable = OURS["mutable"]()
    mutable.count = [mutable]
    assert repr(mutable).endswith("Mutable(count=[...])")


def test_subclasses_compare_by_their_own_fields() -> None:
    @_dataclass.dataclass(frozen=True)
    class Base:
        a: int

    @_dataclass.dataclass(frozen=True)
    class Child(Base):
        b: int = 0

    assert Child(1, 2) == Child(1, 2) != Child(1, 3)
    assert Base(1) != Child(1)  # another class: NotImplemented both ways
    assert repr(Child(1, 2)).endswith("Child(a=1, b=2)")
    assert hash(Child(1, 2)) == hash((1, 2))
    assert Child.__eq__.__qualname__.endswith("Child.__eq__")


def test_construction_errors_are_the_standard_librarys() -> None:
    for decorate in (_dataclass.dataclass, dataclasses.dataclass):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

            @decorate(frozen=True)
            class Bad:
                a: int = 0
                b: int

        @decorate(frozen=True, kw_only=True)
        class Good:
            a: int

        with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'a'"):
            Good()
        with pytest.raises(TypeError, match="got an unexpected keyword argument 'z'"):
            Good(a=1, z=2)
        with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
            Good(1)
    for shape in ("frozen_kw", "derived", "frozen"):
        assert str(inspect.signature(OURS[shape])) == str(inspect.signature(THEIRS[shape]))
