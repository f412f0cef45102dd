"""Benchmark: the quarterly bulletin as a DOCX an office prints, on 10,000 items of a quarter.

The corpus (memory store): ``N`` items submitted in Q4 2026 in Zhoushan, with Chinese titles and
bodies written from 社情民意 phrases (places, matters, proposals); 800 members and officers with
real names (one to three authors an item), 60 handling units, the six categories, the channels
and the 界别; about 60 % adopted, most of those assigned to one or two units, replied on time
or late, rated, some extended or declined, some with adoption or instruction feedback.

Measured (median of ``RUNS`` after a warm-up), each with its ratio to the peer measured in the
same run, the bare ``Qiandao.quarterly_bulletin`` call the report is built from:

- ``bulletin_report(…, "docx")``: the whole DOCX, six tables and five matplotlib charts
  (target ≤ 5 s at 10,000 items);
- ``bulletin_report(…, "xlsx")`` and ``bulletin_report(…, "csv")``.

Run by hand::

    python benchmarks/reports.py               # 10,000 items
    python benchmarks/reports.py --items 50000

``tests/test_benchmarks.py`` runs :func:`measure` on a few hundred items (nothing timed there).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

from qiandao import (
    SHANGHAI,
    Account,
    Actor,
    Assignment,
    AssignmentState,
    Channel,
    Feedback,
    FeedbackKind,
    FocusCategory,
    Item,
    ItemState,
    Qiandao,
    Rating,
    Reply,
    Role,
    RoleGrant,
    RuleSet,
    TextVersion,
    Unit,
)
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.tiers import Destination
from qiandao.testing import ManualClock, sample_assignment, sample_item
from qiandao_adapters.memory import MemoryStore
from qiandao_adapters.reports import bulletin_report
from sql import RUNS, SECTORS, median_ms  # benchmarks/sql.py

TARGET_MS = 5_000.0
J = "zhoushan"
YEAR, QUARTER = 2026, 4
START = datetime(2026, 10, 1, 8, tzinfo=SHANGHAI)
NOW = datetime(2027, 1, 15, 9, tzinfo=SHANGHAI)
EDITOR = Actor("bench-editor", Role.EDITOR, J)
PEOPLE = 800
UNITS = 60

PLACES = (
    *("定海区", "普陀区", "岱山县", "嵊泗县", "沈家门街道", "六横镇", "桃花镇", "东极镇"),
    *("朱家尖", "金塘镇", "衢山镇", "洋山镇", "新城", "临城街道", "白沙岛", "花鸟乡"),
)
MATTERS = (
    *("渔民养老保险转移接续", "小岛客运航班时刻", "海岛供水保障", "渔船安全监管"),
    *("老旧小区加装电梯", "海岛学校师资配备", "乡村医生队伍建设", "冷链物流网点布局"),
    *("海洋垃圾清理", "民宿规范经营", "跨海大桥通行费", "水产品质量追溯"),
    *("社区居家养老服务", "台风防御预警", "渔港避风锚地", "新能源汽车充电设施"),
    *("外来务工人员子女入学", "基层医保报销", "海岛停车难", "非遗传承人培养"),
)
ASKS = ("的建议", "问题亟待解决", "存在的困难及对策", "的几点意见", "情况的反映")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "海舟晓渔明华建国志强丽娟秀英伟芳军平静敏洋波涛岛航帆"
UNIT_NAMES = (
    *("人力社保局", "交通运输局", "农业农村局", "海洋与渔业局", "自然资源和规划局"),
    *("教育局", "卫生健康委", "民政局", "住房和城乡建设局", "生态环境局"),
    *("商务局", "文化和旅游局", "市场监管局", "应急管理局", "水利局"),
)


def _title(rng: random.Random) -> str:
    return f"关于{rng.choice(PLACES)}{rng.choice(MATTERS)}{rng.choice(ASKS)}"


def _body(rng: random.Random, title: str) -> str:
    place, matter = rng.choice(PLACES), rng.choice(MATTERS)
    return (
        f"近期，{place}群众反映{matter}方面存在不少困难。{title.removeprefix('关于')}，"
        f"据初步了解，涉及群众约{rng.randrange(200, 5000)}人，"
        f"其中{rng.randrange(20, 80)}%集中在偏远海岛。"
        "建议：一是加强统筹协调，明确牵头部门；二是加大资金投入，完善配套政策；"
        "三是建立长效机制，定期跟踪评估落实情况。"
    )


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[n // len(SURNAMES) % len(GIVEN)] + GIVEN[n % 7]


def _assignments(item_id: str, issued: datetime, rng: random.Random) -> tuple[Assignment, ...]:
    found = []
    for n in range(1 if rng.random() < 0.8 else 2):
        assigned = issued + timedelta(days=1)
        due = assigned.date() + timedelta(days=21)
        replied = rng.random() < 0.85
        at = assigned + timedelta(days=3 + int(rng.random() * rng.random() * 40))
        rating = rng.choice(
            (Rating.SATISFIED, Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED)
        )
        found.append(
            sample_assignment(
                f"{item_id}-a{n}",
                f"unit-{rng.randrange(UNITS):02d}",
                lead=n == 0,
                state=AssignmentState.REPLIED if replied else AssignmentState.ACCEPTED,
                assigned_at=assigned,
                due=due,
                replies=(Reply("已办理，详见答复。", "unit-user", at),) if replied else (),
                rating=rating if replied and rng.random() < 0.7 else Rating.NOT_RATED,
                extensions=(),
                decline_reason="不属于本单位职责范围" if rng.random() < 0.03 else None,
                reassigned_to=None,
                reply_workdays=(at.date() - assigned.date()).days * 5 // 7 if replied else None,
            )
        )
    return tuple(found)


def corpus(n: int, seed: int = 20261231) -> list[Item]:
    """``n`` items submitted in Q4 2026 (the same for the same ``seed``)."""
    rng = random.Random(seed)
    span = (datetime(2026, 12, 31, 18, tzinfo=SHANGHAI) - START).total_seconds()
    items = []
    for i in range(n):
        item_id = f"r{i:06d}"
        submitted = START + timedelta(seconds=span * rng.random())
        adopted = rng.random() < 0.6
        issued = submitted + timedelta(days=2) if adopted else None
        state = (
            rng.choice((ItemState.HANDLING, ItemState.REPLIED, ItemState.CLOSED))
            if adopted
            else rng.choice((ItemState.SUBMITTED, ItemState.IN_REVIEW, ItemState.NOT_ADOPTED))
        )
        people = rng.sample(range(PEOPLE), rng.choice((1, 1, 1, 2, 3)))
        title = _title(rng)
        feedback: tuple[Feedback, ...] = ()
        if issued is not None and rng.random() < 0.15:
            instruction = rng.random() < 0.3
            feedback = (
                Feedback(
                    kind=FeedbackKind.INSTRUCTION if instruction else FeedbackKind.ADOPTION,
                    on=(issued + timedelta(days=10)).date(),
                    recorded_by=EDITOR.account_id,
                    at=issued + timedelta(days=10),
                    text="请研究落实" if instruction else "采用",
                    level=None if instruction else rng.choice(tuple(AdoptionLevel)),
                    leader="某领导" if instruction else None,
                    rank=rng.choice(tuple(LeaderRank)) if instruction else None,
                ),
            )
        text = TextVersion(1, title, _body(rng, title), f"p{people[0]:04d}", submitted)
        items.append(
            sample_item(
                item_id,
                jurisdiction=J,
                state=state,
                texts=(text,),
                lead_author_id=f"p{people[0]:04d}",
                coauthor_ids=tuple(f"p{p:04d}" for p in people[1:]),
                merged_authors=frozenset(),
                opted_out=frozenset(),
                category=rng.choice(tuple(FocusCategory)),
                channel=rng.choice((Channel.MEMBER, Channel.INFO_OFFICER, Channel.CONTACT_POINT)),
                sector="" if rng.random() < 0.1 else rng.choice(SECTORS),
                secret=False,
                destinations=frozenset({Destination.FORWARD_TO_DEPARTMENTS}) if adopted else (),
                created_at=submitted,
                submitted_at=submitted,
                issued_at=issued,
                closed_at=None,
                feedback=feedback,
                assignments=_assignments(item_id, issued, rng) if issued is not None else (),
                review_overruns=(),
            )
        )
    return items


def loaded(n: int) -> Qiandao:
    """A service over a memory store holding the corpus, its people and units."""
    store = MemoryStore()
    at = START - timedelta(days=30)
    with store.unit_of_work() as uow:
        uow.accounts.add(
            Account(EDITOR.account_id, 1, "李编辑", (EDITOR.grant,), J, at, phone="13905800003")
        )
        for p in range(PEOPLE):
            role = Role.MEMBER if p % 3 else Role.INFO_OFFICER
            uow.accounts.add(Account(f"p{p:04d}", 1, _name(p), (RoleGrant(role, J),), J, at))
        for u in range(UNITS):
            uow.units.add(Unit(f"unit-{u:02d}", f"市{UNIT_NAMES[u % len(UNIT_NAMES)]}{u}", J))
        for item in corpus(n):
            uow.items.add(item)
        uow.commit()
    return Qiandao(store, clock=ManualClock(NOW), rules={J: RuleSet.zhoushan()}, hasher=None)


def measure(n: int, runs: int = RUNS, report: Callable[[str], None] = print) -> dict[str, float]:
    """Load ``n`` items and time the report in each format and its peer; figures in ms."""
    qd = loaded(n)
    figures = {
        "quarterly_bulletin": median_ms(lambda: qd.quarterly_bulletin(EDITOR, YEAR, QUARTER), runs),
    }
    sizes = {}
    for format in ("docx", "xlsx", "csv"):
        sizes[format] = len(bulletin_report(qd, EDITOR, YEAR, QUARTER, format))
        figures[format] = median_ms(
            lambda f=format: bulletin_report(qd, EDITOR, YEAR, QUARTER, f),  # type: ignore[misc]
            runs,
        )
    peer = figures["quarterly_bulletin"]
    bulletin = qd.quarterly_bulletin(EDITOR, YEAR, QUARTER)
    report(
        f"{n:,} items of {YEAR} Q{QUARTER}: {len(bulletin.people)} people, "
        f"{len(bulletin.units)} units, {len(bulletin.by_sector)} sectors"
    )
    report(f"  {'what':<30} {'median ms':>10} {'× bulletin':>11} {'bytes':>10}")
    report(f"  {'quarterly_bulletin (peer)':<30} {peer:>10.1f} {1.0:>11.1f} {'':>10}")
    for format in ("docx", "xlsx", "csv"):
        flag = "  over target" if format == "docx" and figures[format] > TARGET_MS else ""
        report(
            f"  {'bulletin_report ' + format:<30} {figures[format]:>10.1f}"
            f" {figures[format] / max(peer, 1e-6):>11.1f} {sizes[format]:>10,}{flag}"
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    figures = measure(args.items, args.runs)
    return 0 if figures["docx"] <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
