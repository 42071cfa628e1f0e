"""What the rebuilt-input tests share: an element copied in place, dropped, or copied into
another element anywhere in the document."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from lxml import etree

T = TypeVar("T", bound=etree._Element)


def elements(root: etree._Element) -> list[etree._Element]:
    return [element for element in root.iter() if isinstance(element.tag, str)]


def rearrange(root: etree._Element, element: etree._Element, rng: random.Random) -> None:
    parent = element.getparent()
    roll = rng.randrange(3)
    if roll == 0 and parent is not None:
        parent.insert(parent.index(element), copy.deepcopy(element))
    elif roll == 1 and parent is not None:
        parent.remove(element)
    elif roll == 2:
        host = rng.choice(elements(root))
        if host is not element and element not in host.iterancestors():
            host.append(copy.deepcopy(element))


def rebuilt(
    trees: Sequence[T],
    mutate: Callable[[T, random.Random], None],
    *,
    seed: int,
    count: int,
    most: int,
) -> Iterator[T]:
    """`count` copies of trees drawn from `trees`, each mutated 1 to `most` times; seeded, so a
    failure reproduces."""
    rng = random.Random(seed)
    for _ in range(count):
        root = copy.deepcopy(rng.choice(trees))
        for _ in range(rng.randint(1, most)):
            mutate(root, rng)
        yield root
