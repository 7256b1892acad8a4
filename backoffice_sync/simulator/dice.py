"""Reproducible randomness for the simulator: a roll is a hash of the seed and a label.

A stateful `random.Random` would make every outcome depend on how many rolls came
before it, in whichever process made them (the stub in a test, the HTTP server's request
threads, the ticker). Hashing the seed with what is being decided ("ship-split", the
order number, ...) gives the same answer for the same question, whatever ran before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def roll(seed: int, *labels: object) -> float:
    """A number in [0, 1) fixed by the seed and the labels."""
    digest = hashlib.sha256(":".join([str(seed), *map(str, labels)]).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def randint(low: int, high: int, seed: int, *labels: object) -> int:
    """An integer in [low, high], both included."""
    return low + int(roll(seed, *labels) * (high - low + 1))


def choice(options: Sequence[T], seed: int, *labels: object) -> T:
    return options[int(roll(seed, *labels) * len(options))]


def shuffled(items: Sequence[T], seed: int, *labels: object) -> list[T]:
    """The items in an order fixed by the seed and the labels."""
    return [
        item
        for _, item in sorted(
            ((roll(seed, *labels, i), item) for i, item in enumerate(items)), key=lambda pair: pair[0]
        )
    ]
