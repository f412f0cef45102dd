"""What ``qiandao.testing`` gives a host testing its own adapters."""

from __future__ import annotations

from datetime import datetime
from typing import assert_type

from hypothesis.strategies import SearchStrategy

from qiandao import Account, Assignment, ChinaWorkdays, Destination, Item, StatisticsQuery
from qiandao.ports.notify import Notice, Notifier
from qiandao.ports.store import AssignmentQuery, ItemQuery, Store
from qiandao.testing import (
    CalendarContract,
    ManualClock,
    NotifierContract,
    StoreContract,
    query_corpus,
    sample_account,
    sample_assignment,
    sample_item,
    statistics_corpus,
    strategies,
)
from qiandao.testing.contract import NotifierContract as DocumentedNotifierContract
from qiandao.testing.contract import StoreContract as DocumentedStoreContract


def builders_and_clock(clock: ManualClock) -> None:
    assert_type(sample_item("item-1", urgent=False), Item)
    assert_type(sample_assignment(), Assignment)
    assert_type(sample_account(phone=None), Account)
    assert_type(query_corpus(), list[Item])
    assert_type(statistics_corpus(10, seed=1), list[Item])
    assert_type(clock.now(), datetime)


def strategy_types() -> None:
    assert_type(strategies.items(), SearchStrategy[Item])
    assert_type(strategies.item_queries(), SearchStrategy[ItemQuery])
    assert_type(strategies.assignment_queries(), SearchStrategy[AssignmentQuery])
    assert_type(strategies.statistics_items(), SearchStrategy[Item])
    assert_type(strategies.statistics_queries(), SearchStrategy[StatisticsQuery])
    assert_type(strategies.destinations(), SearchStrategy[frozenset[Destination]])
    assert_type(strategies.ITEM_FILTERS, tuple[ItemQuery, ...])
    assert_type(strategies.STATISTICS_QUERIES, tuple[StatisticsQuery, ...])


class MemoryContract(StoreContract):
    def make_store(self) -> Store:
        raise NotImplementedError


class PrintingContract(NotifierContract):
    def make_notifier(self) -> Notifier:
        raise NotImplementedError

    def delivered(self, notifier: object) -> list[Notice] | None:
        return None


class MyCalendarContract(CalendarContract):
    def make_calendar(self) -> ChinaWorkdays:
        return ChinaWorkdays.official()


def documented_paths() -> None:
    assert_type(DocumentedStoreContract, type[StoreContract])
    assert_type(DocumentedNotifierContract, type[NotifierContract])
