"""The notifier contract suite: every :class:`~qiandao.ports.notify.Notifier` proves itself here.

Subclass it in a test module whose class name starts with ``Test``::

    from qiandao.testing import NotifierContract


    class TestMyNotifier(NotifierContract):
        deduplicates = False  # True if a repeated notice id is dropped

        def make_notifier(self) -> MyNotifier: ...

        def delivered(self, notifier: MyNotifier) -> list[Notice] | None: ...

For readable assertion failures, register ``qiandao.testing`` for pytest's assertion rewriting
in the host's ``conftest.py`` before importing it (see :mod:`qiandao.testing.store`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import UTC
from typing import Any, ClassVar

from qiandao.ports.notify import Notice, Notifier
from qiandao.testing._support import run_threads
from qiandao.testing.builders import NASTY_TEXT, T0, sample_notice

__all__ = ["NotifierContract"]


class NotifierContract(abc.ABC):
    """The behaviour every :class:`~qiandao.ports.notify.Notifier` must have.

    Implement :meth:`make_notifier`; implement :meth:`delivered` if the test can observe what
    was delivered (then delivery order is checked too). Set ``deduplicates = True`` if the
    notifier drops a repeat of a notice id (the outbox delivers at least once).
    """

    deduplicates: ClassVar[bool] = False

    @abc.abstractmethod
    def make_notifier(self) -> Notifier:
        """A new notifier."""

    def delivered(self, notifier: Any) -> Sequence[Notice] | None:
        """The notices ``notifier`` delivered, in order; ``None`` if that cannot be observed."""
        return None

    def _notices(self) -> list[Notice]:
        return [
            sample_notice("evt-1"),
            sample_notice(
                "evt-2",
                kind="assigned",
                recipients=("unit:u-ocean",),
                text="请签收交办信息：【急】" + NASTY_TEXT,
                item_id=None,
            ),
            sample_notice(
                "evt-3",
                kind="reminder_sent",
                recipients=tuple(f"member-{n:03d}" for n in range(50)),
                at=T0.astimezone(UTC),
            ),
            sample_notice("evt-4", kind="host.custom_kind", recipients=("role:editor@putuo",)),
        ]

    def test_accepts_notices_and_delivers_them_in_order(self) -> None:
        notifier = self.make_notifier()
        notices = self._notices()
        for notice in notices:
            notifier.send(notice)
        delivered = self.delivered(notifier)
        if delivered is not None:
            assert list(delivered) == notices

    def test_a_repeated_notice_is_accepted(self) -> None:
        notifier = self.make_notifier()
        first, second = self._notices()[:2]
        notifier.send(first)
        notifier.send(second)
        notifier.send(first)
        delivered = self.delivered(notifier)
        if delivered is None:
            return
        if self.deduplicates:
            assert list(delivered) == [first, second]
        else:
            assert [n.id for n in delivered].count(first.id) in (1, 2)

    def test_concurrent_sends_are_all_delivered(self) -> None:
        notifier = self.make_notifier()
        notices = [sample_notice(f"evt-{n}") for n in range(40)]
        errors: list[BaseException] = []

        def sender(index: int) -> None:
            try:
                for notice in notices[index::4]:
                    notifier.send(notice)
            except BaseException as exc:  # reported below
                errors.append(exc)

        run_threads(sender, 4)
        assert errors == []
        delivered = self.delivered(notifier)
        if delivered is not None:
            assert sorted(n.id for n in delivered) == sorted(n.id for n in notices)
