"""`Tail`: what a live stream sends from a latest-first source, each once."""

from dataclasses import dataclass

from trackway.console.live import LOOKBACK_MS, Tail

T0 = 1_796_292_000_000


@dataclass(frozen=True)
class Item:
    key: str
    at: int


class Source:
    """Items committed so far; answers like `activity.arrivals`."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.asked: list[int] = []

    def fetch(self, since: int) -> list[Item]:
        self.asked.append(since)
        found = [item for item in self.items if item.at >= since]
        return sorted(found, key=lambda item: item.at, reverse=True)

    def tail(self, start: int) -> Tail[Item]:
        return Tail(self.fetch, start, lambda i: i.at, lambda i: i.key)


def test_each_item_comes_once_oldest_first() -> None:
    source = Source()
    tail = source.tail(T0)
    source.items += [Item("b", T0 + 2), Item("a", T0 + 1)]

    first = tail.poll()
    source.items.append(Item("c", T0 + 3))
    second = tail.poll()

    assert [i.key for i in first] == ["a", "b"]
    assert [i.key for i in second] == ["c"]
    assert tail.poll() == []


def test_items_stamped_before_the_start_are_not_sent() -> None:
    source = Source()
    source.items.append(Item("old", T0 - 1))

    assert source.tail(T0).poll() == []


def test_an_item_committed_late_within_the_lookback_is_still_sent() -> None:
    source = Source()
    tail = source.tail(T0)
    source.items.append(Item("quick", T0 + 5_000))
    tail.poll()

    source.items.append(Item("slow", T0 + 1_000))

    assert [i.key for i in tail.poll()] == ["slow"]


def test_looks_reach_back_the_lookback_from_the_latest_item_seen() -> None:
    source = Source()
    tail = source.tail(T0)
    source.items.append(Item("far", T0 + 2 * LOOKBACK_MS))

    tail.poll()
    tail.poll()

    assert source.asked == [T0, T0 + LOOKBACK_MS]
    assert tail.floor == T0 + LOOKBACK_MS
