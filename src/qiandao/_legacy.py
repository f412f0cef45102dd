"""Temporary: the pre-workflow helpers, while the mix-ins move to :mod:`qiandao.workflow`.

Deleted once every command runs on ``_Core._transact`` with a workflow decision.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from qiandao._core import Actor, Tx, _Core
from qiandao.model import Assignment, Item
from qiandao.ports.store import UnitOfWork
from qiandao.rules.lifecycle import AssignmentCommand, AssignmentState, ItemCommand, ItemState
from qiandao.workflow import guards
from qiandao.workflow.context import Decision

T = TypeVar("T")


class _LegacyCore(_Core):
    @staticmethod
    def _check_office(actor: Actor, item: Item) -> None:
        guards.check_office(actor, item)

    def _item_step(self, actor: Actor, item: Item, command: ItemCommand) -> ItemState:
        return guards.item_step(actor, item, command)

    def _assignment_step(
        self, actor: Actor, item: Item, assignment_id: str, command: AssignmentCommand
    ) -> tuple[Assignment, AssignmentState]:
        return guards.assignment_step(actor, item, assignment_id, command)

    def _stage(
        self,
        uow: UnitOfWork,
        item: Item | None,
        decision: Decision,
        actor: Actor,
        now: datetime,
        *,
        item_id: str | None = None,
    ) -> Item:
        return Tx(self, uow, actor, now).stage(item, decision, item_id=item_id)

    def _legacy_transact(
        self, work: Callable[[UnitOfWork, datetime], T], *, any_conflict: bool = False
    ) -> T:
        def run(tx: Tx) -> T:
            return work(tx.uow, tx.now)

        return self._transact(None, run, any_conflict=any_conflict)

    def _run(
        self, actor: Actor, item_id: str, decide: Callable[[Item, datetime], Decision]
    ) -> Item:
        return self._run_with_uow(actor, item_id, lambda _, item, now: decide(item, now))

    def _run_with_uow(
        self,
        actor: Actor,
        item_id: str,
        decide: Callable[[UnitOfWork, Item, datetime], Decision],
    ) -> Item:
        def work(uow: UnitOfWork, now: datetime) -> Item:
            item = uow.items.get(item_id)
            return self._stage(uow, item, decide(uow, item, now), actor, now)

        return self._legacy_transact(work)
