"""A process that commits commands until it is killed (the SQLite durability test).

``python -m tests.sql.crash_writer URL`` submits items through the service in a loop on the
store at ``URL`` (made and enrolled by the test), printing each item's id once its command has
returned, that is, committed.
"""

from __future__ import annotations

import sys
from datetime import datetime

from qiandao import SHANGHAI, Actor, Qiandao, Role
from qiandao.testing import ManualClock
from qiandao_adapters.sql import SqlStore

MEMBER = Actor("m1", Role.MEMBER, "zhoushan")
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文" * 50, "category": "hot_issue"}


def main(url: str) -> None:
    """Submit items forever, reporting each committed one on stdout."""
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
    qd = Qiandao(SqlStore(url), clock=clock, hasher=None)
    while True:
        item = qd.submit_new(MEMBER, PAYLOAD)
        print(item.id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
