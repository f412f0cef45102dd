"""The contract suite of the hot-topic term index (:class:`~qiandao.ports.store.
TopicsRepository`), part of :class:`~qiandao.testing.StoreContract`.

It needs only ``new_store()`` (a new, empty store whose made stores are released after the
test), which :class:`~qiandao.testing.StoreContract` provides. Term keys are opaque (a store
under encryption keeps keyed tokens): the suite reads words through ``words``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from qiandao.model import Channel, FocusCategory
from qiandao.ports.store import Store
from qiandao.rules.points import Period
from qiandao.topics import TopicEntry, TopicScope

__all__ = ["TopicsContract", "topic_entry_of"]

_Q1 = Period.quarter(2026, 1)
_Q2 = Period.quarter(2026, 2)


def topic_entry_of(
    item_id: str,
    terms: Mapping[str, int],
    *,
    day: date = date(2026, 2, 10),
    jurisdiction: str = "zhoushan",
    category: FocusCategory = FocusCategory.HOT_ISSUE,
) -> TopicEntry:
    """An entry with ``terms``, submitted on ``day`` through the member channel."""
    return TopicEntry(item_id, jurisdiction, category, "经济界", Channel.MEMBER, day, dict(terms))


class TopicsContract:
    """What every store's term index does (write, replace, drop, count, find, name)."""

    def new_store(self) -> Store:  # pragma: no cover - provided by StoreContract
        """A fresh, empty store of the kind under test (``StoreContract`` provides it)."""
        raise NotImplementedError

    def _topics_indexed(self, *entries: TopicEntry) -> Store:
        store = self.new_store()
        with store.unit_of_work() as uow:
            for entry in entries:
                uow.topics.put(entry)
            uow.commit()
        return store

    @staticmethod
    def _named(store: Store, counts: Mapping[str, int]) -> dict[str, int]:
        with store.unit_of_work() as uow:
            words = uow.topics.words(list(counts))
        assert set(words) == set(counts)
        return {words[key]: n for key, n in counts.items()}

    def test_topic_entry_round_trips(self) -> None:
        entry = topic_entry_of("item-1", {"电梯": 2, "加装": 1, "5g": 1})
        store = self._topics_indexed(entry)
        with store.unit_of_work() as uow:
            assert uow.topics.get("item-1") == entry
            assert uow.topics.get("item-2") is None

    def test_topic_counts_cover_the_jurisdiction_period_and_category(self) -> None:
        store = self._topics_indexed(
            topic_entry_of("item-1", {"电梯": 3, "加装": 1}),
            topic_entry_of("item-2", {"电梯": 1}, day=_Q1.end),
            topic_entry_of("item-3", {"电梯": 1, "停车": 2}, day=_Q1.start),
            topic_entry_of("item-4", {"电梯": 1}, day=_Q2.start),
            topic_entry_of("item-5", {"电梯": 1}, jurisdiction="zhoushan.dinghai"),
            topic_entry_of("item-6", {"停车": 1}, category=FocusCategory.EMERGENCY),
        )
        with store.unit_of_work() as uow:
            everything = uow.topics.counts(TopicScope("zhoushan", _Q1))
            livelihood = uow.topics.counts(TopicScope("zhoushan", _Q1, FocusCategory.HOT_ISSUE))
            county = uow.topics.counts(TopicScope("zhoushan.dinghai", _Q1))
            empty = uow.topics.counts(TopicScope("zhoushan", Period.quarter(2025, 4)))
        assert everything.items == 4
        assert self._named(store, everything.terms) == {"电梯": 3, "加装": 1, "停车": 2}
        assert livelihood.items == 3
        assert self._named(store, livelihood.terms) == {"电梯": 3, "加装": 1, "停车": 1}
        assert county.items == 1 and self._named(store, county.terms) == {"电梯": 1}
        assert empty.items == 0 and dict(empty.terms) == {}

    def test_topic_items_with_a_term_say_it_most_first_then_latest(self) -> None:
        store = self._topics_indexed(
            topic_entry_of("item-a", {"电梯": 1}, day=date(2026, 1, 5)),
            topic_entry_of("item-b", {"电梯": 4}),
            topic_entry_of("item-c", {"电梯": 1}, day=date(2026, 3, 5)),
            topic_entry_of("item-d", {"电梯": 1}, day=date(2026, 3, 5)),
            topic_entry_of("item-e", {"停车": 1}),
            topic_entry_of("item-f", {"电梯": 9}, day=_Q2.start),
        )
        scope = TopicScope("zhoushan", _Q1)
        with store.unit_of_work() as uow:
            keys = uow.topics.counts(scope).terms
            words = uow.topics.words(list(keys))
            elevator = next(k for k, w in words.items() if w == "电梯")
            parking = next(k for k, w in words.items() if w == "停车")
            assert uow.topics.items_with([elevator, parking], scope, 10) == {
                elevator: ["item-b", "item-c", "item-d", "item-a"],
                parking: ["item-e"],
            }
            assert uow.topics.items_with([elevator], scope, 2) == {elevator: ["item-b", "item-c"]}
            assert uow.topics.items_with([], scope, 2) == {}

    def test_topic_put_replaces_and_drop_removes(self) -> None:
        store = self._topics_indexed(
            topic_entry_of("item-1", {"电梯": 1}), topic_entry_of("item-2", {"电梯": 1})
        )
        revised = topic_entry_of("item-1", {"停车": 2})
        with store.unit_of_work() as uow:
            uow.topics.put(revised)
            uow.topics.drop("item-2")
            uow.topics.drop("item-never")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.topics.get("item-1") == revised
            assert uow.topics.get("item-2") is None
            counts = uow.topics.counts(TopicScope("zhoushan", _Q1))
        assert counts.items == 1 and self._named(store, counts.terms) == {"停车": 1}

    def test_topic_writes_are_part_of_the_unit_of_work(self) -> None:
        store = self._topics_indexed(topic_entry_of("item-1", {"电梯": 1}))
        with store.unit_of_work() as uow:
            uow.topics.put(topic_entry_of("item-2", {"停车": 1}))
            uow.topics.drop("item-1")
            assert uow.topics.counts(TopicScope("zhoushan", _Q1)).items == 1
            uow.rollback()
        with store.unit_of_work() as uow:
            counts = uow.topics.counts(TopicScope("zhoushan", _Q1))
        assert counts.items == 1 and self._named(store, counts.terms) == {"电梯": 1}
