"""``python -m qiandao demo``: a realistic Zhoushan scenario, end to end, with a Chinese trail.

Deterministic: a fixed clock and counter ids. Runs on an embedded SQLite file by default, on any
database with ``--url``, or in memory with ``--memory``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from qiandao import (
    SHANGHAI,
    AccountView,
    Actor,
    AdoptionLevel,
    AuditQuery,
    FocusCategory,
    Lane,
    LeaderRank,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
    RoleGrant,
)
from qiandao.ports.store import Store
from qiandao.testing import ManualClock
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.notifiers import RecordingNotifier

__all__ = ["demo_folder", "register", "run_demo"]

J = "zhoushan"
BODY = "我市部分渔民曾在外省船队务工，养老保险关系转移接续手续繁琐、周期长……建议：一是……二是……"
UNITS = {
    "hrss": "市人力社保局",
    "transport": "市交通运输局",
    "agri": "市农业农村局",
}


def _at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=SHANGHAI)


class _Trail:
    """Prints the story line by line, each with the clock's date and time."""

    def __init__(self, clock: ManualClock, out: Callable[[str], None]) -> None:
        self.clock = clock
        self.out = out

    def __call__(self, text: str) -> None:
        self.out(f"{self.clock.now():%Y-%m-%d %H:%M}  {text}")

    def section(self, title: str) -> None:
        self.out("")
        self.out(f"== {title} ==")


def demo_folder(url: str | None) -> Path:
    """The demo's working folder: the SQLite file's folder, else the temporary directory
    (where the database, its local key and the printed reports go)."""
    if url is not None and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).parent
    return Path(tempfile.gettempdir())


def _store(url: str | None, memory: bool) -> tuple[Store, str]:
    if memory:
        from qiandao_adapters.memory import MemoryStore

        return MemoryStore(), "内存存储"
    from qiandao_adapters.crypto import configured_provider, local_key_file
    from qiandao_adapters.sql import SqlStore

    folder = demo_folder(url)
    if url is None:
        path = folder / "qiandao-demo.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    # the host's keys if it configured some, else a generated local key beside the database
    keys = configured_provider() or local_key_file(folder / "qiandao-demo.keys")
    store = SqlStore(url, keys=keys)
    store.create_all()
    return store, url.split("@")[-1]


def run_demo(
    *, url: str | None = None, memory: bool = False, out: Callable[[str], None] = print
) -> None:
    """Run the whole scenario on a fresh store and print the trail."""
    store, where = _store(url, memory)
    clock = ManualClock(_at("2026-10-09", 8, 30))
    counter = itertools.count(1)
    notifier = RecordingNotifier()
    phones = (
        RecordingDelivery()
    )  # the people's phones: initial passwords go there, not to the admin
    qd = Qiandao(
        store,
        clock=clock,
        notifier=notifier,
        hasher=Argon2Hasher.fast(),
        credential_delivery=phones,
        ids=lambda: f"{next(counter):05d}",
        dispatch_after_commit=True,  # the demo shows each notice as it is sent; hosts run a worker
    )
    say = _Trail(clock, out)
    out(f"千岛议家 · 社情民意工作流程演示（存储：{where}）")

    say.section("一、实名注册与首次登录（第十六、十七条）")
    _, admin_password = qd.bootstrap_admin(real_name="周系统", phone="13905800000")
    admin = qd.sign_in("13905800000", admin_password)
    admin = qd.change_password(admin.token, admin_password, "Admin#2026zs")
    people = {
        "member": ("张海舟", "139 0580 0001", Role.MEMBER, None),
        "officer": ("林晓渔", "+86 139-0580-0002", Role.INFO_OFFICER, None),
        "editor": ("李编辑", "13905800003", Role.EDITOR, None),
        "deputy": ("王分管", "13905800004", Role.DEPUTY, None),
        "chair": ("陈主席", "13905800005", Role.CHAIR, None),
        "hrss": ("人社局联络员", "13905800006", Role.HANDLING_UNIT, "hrss"),
        "transport": ("交通局联络员", "13905800007", Role.HANDLING_UNIT, "transport"),
        "agri": ("农业局联络员", "13905800008", Role.HANDLING_UNIT, "agri"),
    }
    admin_actor = qd.authenticate(admin.token)
    for unit_id, name in UNITS.items():  # the system admin's commands, audited
        qd.add_unit(admin_actor, unit_id, name, J)
    security = _first_sign_in(
        qd,
        phones,
        qd.register(admin_actor, real_name="吴安全", phone="13905800010", role=Role.SECURITY_ADMIN),
        "Qd#security2026!",
    )
    say(
        "三员分立（第十九条）：系统管理员注册安全管理员吴安全；"
        "增加能看内容的角色须由系统管理员提出、安全管理员批准，本人不能批准自己的申请"
    )
    actors: dict[str, Actor] = {}
    for key, (name, phone, role, unit) in people.items():
        account = qd.register(admin_actor, real_name=name, phone=phone, role=role, unit_id=unit)
        (proposal,) = qd.grant_proposals(security).items
        qd.approve_grant(security, proposal.id)
        number = phones.phone_of(account.id)  # the admin's view shows it masked
        initial = phones.password_of(number)
        first = qd.sign_in(number, initial)
        changed = qd.change_password(first.token, initial, f"Qd#{key}2026!")
        actors[key] = qd.authenticate(changed.token)
        if key == "member":
            say(
                f"系统管理员注册委员{name}，用户名为手机号（管理员只看到 {account.phone}）；"
                "安全管理员批准后，初始密码以短信发给本人，管理员看不到"
            )
            say(
                f"{name}首次登录：须先修改初始密码（must_change_password={first.must_change_password}），修改后进入系统"
            )
    say(
        f"共注册 {len(people)} 个实名账号"
        "（委员、信息员、信息工作人员、分管领导、主席、3个承办单位）"
    )

    proposal = qd.grant_role(admin_actor, actors["chair"].account_id, Role.MEMBER, J)
    qd.approve_grant(security, proposal.id)
    both = qd.sign_in("13905800005", "Qd#chair2026!")
    roles = "、".join(g.role.label for g in both.grants)
    as_member = qd.select_grant(both.token, RoleGrant(Role.MEMBER, J))
    say(
        f"陈主席同时是政协委员：系统管理员提出、安全管理员批准为其增加委员角色，"
        f"一个实名账号持有{roles}两个角色；"
        f"登录后选择以{as_member.role.label}身份履职（本人报送的信息本人不能审签，第九条）"
    )

    member, editor, deputy, chair = (actors[k] for k in ("member", "editor", "deputy", "chair"))
    hrss, transport, agri = (actors[k] for k in ("hrss", "transport", "agri"))

    say.section("二、报送与编审签发（第四、五、九条）")
    clock.set(_at("2026-10-12", 9))
    payload = {
        "title": "关于解决海岛渔民养老保险跨省转移接续难的建议",
        "body": BODY,
        "category": FocusCategory.HOT_ISSUE.value,
        "sector": "农业和农村界",
        "urgent": True,
    }
    item = qd.submit_new(member, payload, idempotency_key="phone-retry-001")
    again = qd.submit_new(member, dict(payload), idempotency_key="phone-retry-001")
    say(f"委员张海舟报送【急】信息《{item.title}》，状态：{item.state.label}")
    say(f"手机网络重试同一幂等键：返回同一条信息（{again.id == item.id}）")
    counts = qd.lane_counts(editor)
    page = qd.lane(editor, Lane.PRELIMINARY, limit=20)
    say(
        f"信息工作人员的“{Lane.PRELIMINARY.label}”队列 {counts[Lane.PRELIMINARY]} 条"
        f"（分页读取，急件优先），第一条：《{page.items[0].title}》"
    )
    say(f"  报送渠道由报送人身份决定：{item.channel.label}（第七条）")

    clock.set(_at("2026-10-12", 10))
    item = qd.return_for_revision(editor, item.id, "请补充涉及渔民人数等具体数据")
    say(f"李编辑退回修改：“请补充涉及渔民人数等具体数据”，状态：{item.state.label}")
    clock.set(_at("2026-10-12", 11))
    item = qd.resubmit(member, item.id, body=BODY + "据初步统计，涉及渔民约3000人。")
    say(f"张海舟补充数据后重新提交：第{len(item.texts)}稿，状态：{item.state.label}")

    clock.set(_at("2026-10-12", 14))
    item = qd.pass_preliminary(
        editor,
        item.id,
        title="关于破解海岛渔民养老保险跨省转移接续难题的建议",
        body="（编辑稿）我市约3000名渔民存在养老保险跨省转移接续问题……建议：一、建立省际协查机制；二、……",
        destinations=["forward_to_departments", "report_to_principal_leaders_and_province"],
        note="内容属实，建议转送并专报",
    )
    say(
        f"李编辑初审通过：编辑为第{len(item.texts)}稿（原稿保留），报送去向："
        + "、".join(d.label for d in sorted(item.destinations, key=lambda d: d.value))
    )
    say("  → 去向含“专报市委、市政府主要领导及省政协办公厅”，按第九条须由市政协主席签发")
    clock.set(_at("2026-10-13", 10))
    item = qd.approve(deputy, item.id, note="同意")
    say(f"王分管（办公室分管领导）审核通过，状态：{item.state.label}")
    clock.set(_at("2026-10-14", 9))
    item = qd.sign(chair, item.id, note="同意报送")
    say(
        f"陈主席签发，信息录用，状态：{item.state.label}；审签记录："
        + " → ".join(f"{r.stage.label}（{r.decision.label}）" for r in item.reviews)
    )

    say.section("三、交办、申退、改派、延期与答复（第十条）")
    clock.set(_at("2026-10-14", 15))
    item = qd.assign(editor, item.id, [("hrss", True), ("transport", False)])
    for a in item.assignments:
        say(f"交办{UNITS[a.unit_id]}（{'主办' if a.lead else '协办'}），答复期限 {a.due}")
    lead = item.assignments[0]
    explanation = qd.explain_deadline(editor, item.id, lead.id)
    say(f"  期限说明：{explanation.text()}")

    clock.set(_at("2026-10-15", 10))
    tr = next(a for a in item.assignments if a.unit_id == "transport")
    item = qd.decline(
        transport, item.id, tr.id, "渔民养老保险不属于本单位职责范围，建议改由市农业农村局协办"
    )
    say("市交通运输局申退：说明理由“渔民养老保险不属于本单位职责范围”")
    item = qd.reassign(editor, item.id, tr.id, "agri")
    ag = next(a for a in item.assignments if a.unit_id == "agri")
    say(f"李编辑改派市农业农村局协办，新期限 {ag.due}（自改派日起算）")
    item = qd.accept(hrss, item.id, lead.id)
    clock.set(_at("2026-10-16", 9))
    item = qd.accept(agri, item.id, ag.id)
    say("两个承办单位签收；单位账号只能看到交办给本单位的签发稿")

    clock.set(_at("2026-10-28", 10))
    item = qd.request_extension(hrss, item.id, lead.id, 5, "涉及省级统筹政策，需与省人力社保厅会商")
    item = qd.approve_extension(editor, item.id, lead.id)
    lead_now = item.assignment(lead.id)
    assert lead_now is not None
    say(f"市人力社保局申请延期5个工作日，办公室同意，新期限 {lead_now.due}")

    clock.set(_at("2026-10-30", 16))
    item = qd.reply(agri, item.id, ag.id, "已协调渔业互助保险，配合人社部门做好政策宣传。")
    say("市农业农村局书面答复")
    clock.set(_at("2026-11-05", 10))
    item = qd.record_adoption(
        editor,
        item.id,
        AdoptionLevel.PROVINCIAL_CPPCC,
        date(2026, 11, 5),
        "省政协《社情民意》第88期采用",
    )
    say("登记采用情况：省政协采用（第十一条）")
    clock.set(_at("2026-11-06", 11))
    item = qd.record_instruction(
        editor,
        item.id,
        "市委书记",
        LeaderRank.CITY_PRINCIPAL_LEADER,
        date(2026, 11, 6),
        "请市人力社保局牵头研究解决。",
    )
    say("登记领导批示：市委书记批示“请市人力社保局牵头研究解决”")
    clock.set(_at("2026-11-10", 15))
    item = qd.reply(hrss, item.id, lead.id, "已建立省际协查机制，办理时限压缩至20个工作日。")
    say(f"市人力社保局书面答复（在延期后的期限内），信息状态：{item.state.label}")

    say.section("四、评价与重新办理（第十二条）")
    clock.set(_at("2026-11-11", 9))
    item = qd.rate(member, item.id, ag.id, Rating.SATISFIED)
    item = qd.rate(member, item.id, lead.id, Rating.DISSATISFIED)
    say("张海舟评价：市农业农村局“满意”，市人力社保局“不满意”")
    item = qd.order_rehandle(editor, item.id, lead.id, "委员认为未明确已转移失败人员的补救办法")
    again_lead = item.assignment(lead.id)
    assert again_lead is not None
    say(f"办公室要求市人力社保局重新办理，新期限 {again_lead.due}")
    clock.set(_at("2026-11-20", 15))
    item = qd.reply(hrss, item.id, lead.id, "补充：对已转移失败人员逐一回访，12月底前办结。")
    try:
        qd.close(editor, item.id)
    except QiandaoError as refused:
        say(f"办公室此时办结被拒绝：{refused.code}（委员的评价期尚未结束，第十二条）")
    clock.set(_at("2026-11-21", 9))
    item = qd.rate(member, item.id, lead.id, Rating.BASICALLY_SATISFIED)
    say("市人力社保局再次答复，张海舟评价“基本满意”")
    clock.set(_at("2026-11-23", 10))
    item = qd.record_implementation(
        editor, item.id, date(2026, 11, 23), "省际协查机制已运行，首批120人办结。"
    )
    item = qd.close(editor, item.id)
    say(f"登记落实情况并办结，状态：{item.state.label}")

    say.section("五、公开（第十四条）")
    published = qd.published(actors["officer"])
    say(
        f"信息已录用、非涉密、作者未表示不公开 → 系统内公开：{item.published}；"
        f"公开列表 {published.total} 条"
    )

    say.section("六、逾期提醒（第十条）")
    clock.set(_at("2026-10-20", 9))
    second = qd.submit_new(
        actors["officer"],
        {
            "title": "关于优化小岛客运航班时刻的建议",
            "body": "东极等小岛客运航班……",
            "category": "hot_issue",
        },
    )
    second = qd.pass_preliminary(editor, second.id, destinations=["forward_to_departments"])
    second = qd.approve(deputy, second.id)
    office_head = _office_head(qd, admin_actor, security, actors, phones)
    second = qd.sign(office_head, second.id)
    clock.set(_at("2026-10-22", 10))
    second = qd.assign(editor, second.id, [("transport", True)])
    due = second.assignments[0].due
    say(f"信息员林晓渔的信息经办公室主要负责人签发后交办市交通运输局，答复期限 {due}")
    for day in ("2026-11-09", "2026-11-12", "2026-11-13", "2026-11-13", "2026-11-27"):
        clock.set(_at(day, 8))
        before = len(notifier.notices)
        report = qd.run_due_jobs()
        sent = [n for n in notifier.notices[before:] if n.kind == "reminder_sent"]
        text = "；".join(n.text for n in sent) or "无新提醒（每种提醒只发一次）"
        say(f"定时任务：{text}（本次 {report.reminders_sent} 条）")
    overdue = qd.overdue(editor)
    very = qd.overdue(editor, very=True)
    say(f"逾期清单 {overdue.total} 件，严重逾期 {very.total} 件：《{overdue.items[0][0].title}》")

    say.section("七、季度通报与考核（第十一、十三条）")
    clock.set(_at("2026-12-01", 9))
    quarter = qd.quarterly_bulletin(editor, 2026, 4)
    names = {a.id: a.real_name for a in _accounts(store)}
    for line in quarter.people:
        say(
            f"第{line.place}名 {names.get(line.person_id, line.person_id)}："
            f"报送{line.submitted}、录用{line.adopted}、"
            f"专报{line.reported_upward}、批示{line.instructions}，得分 {line.score}"
        )
    for u in quarter.units:
        rate = "—" if u.on_time_rate is None else f"{u.on_time_rate:.0%}"
        sat = "—" if u.satisfaction_rate is None else f"{u.satisfaction_rate:.0%}"
        say(
            f"{UNITS[u.unit_id]}：交办{u.assigned}、答复{u.replied}、按时率{rate}、逾期{u.overdue}、"
            f"延期{u.extended}、申退{u.declined}、满意率{sat}"
        )
    say.section("八、安全审计（第十九条）")
    auditor = _first_sign_in(
        qd,
        phones,
        qd.register(admin_actor, real_name="郑审计", phone="13905800011", role=Role.AUDIT_ADMIN),
        "Qd#audit2026!",
    )
    every = qd.audit_log(auditor, AuditQuery(limit=500))
    denials = [r for r in every.records if r.outcome == "refused"]
    say(
        f"审计记录 {len(every.records)} 条（每个命令、拒绝、登录、非公开读取、导出各一条，"
        f"不含内容与密码），其中被拒绝 {len(denials)} 条；只有审计管理员郑审计能查看"
    )
    head = qd.audit_checkpoint()
    verified = qd.verify_audit(auditor, anchor=f"{head.sequence}:{head.hash}")
    algorithm = every.records[0].algorithm if every.records else "—"
    say(
        f"哈希链校验：{'完好' if verified.ok else '被篡改'}（{verified.records} 条，{algorithm}）；"
        f"锚点 {head.sequence}:{head.hash[:16]}… 保存在数据库之外"
    )
    say.section("九、打印归档的报表（第十一、十三、十八条）")
    _write_reports(qd, editor, demo_folder(url), say)
    delivered = len(notifier.notices)
    out("")
    out(f"共发出通知 {delivered} 条（事务性发件箱，提交后投递，按事件编号去重）。演示结束。")


def _write_reports(qd: Qiandao, editor: Actor, folder: Path, say: _Trail) -> None:
    """The Q4 bulletin as DOCX and XLSX in the demo's folder (needs the ``reports`` extra and,
    for the DOCX charts, a CJK font; either missing is said, not fatal)."""
    from qiandao_adapters.reports import bulletin_report

    for format in ("docx", "xlsx"):
        path = folder / f"qiandao-demo-2026-q4.{format}"
        try:
            path.write_bytes(bulletin_report(qd, editor, 2026, 4, format))
        except ImportError as missing:
            say(
                f"未安装报表依赖（pip install 'qiandao[reports]'）：{missing.name}，未生成 {format}"
            )
            continue
        except QiandaoError as error:
            say(f"{format.upper()} 通报未生成：{error}")
            continue
        say(f"2026年第四季度通报已写出：{path}（页眉页脚带导出人水印，导出记入审计）")


def _first_sign_in(qd: Qiandao, phones: RecordingDelivery, account: AccountView, new: str) -> Actor:
    """Sign in with the password delivered to the person's phone and change it at once."""
    phone = phones.phone_of(account.id)  # the returned view shows the number masked
    initial = phones.password_of(phone)
    first = qd.sign_in(phone, initial)
    return qd.authenticate(qd.change_password(first.token, initial, new).token)


def _office_head(
    qd: Qiandao,
    admin: Actor,
    security: Actor,
    actors: dict[str, Actor],
    phones: RecordingDelivery,
) -> Actor:
    account = qd.register(admin, real_name="赵主任", phone="13905800009", role=Role.OFFICE_HEAD)
    (proposal,) = qd.grant_proposals(security).items
    qd.approve_grant(security, proposal.id)
    actors["office_head"] = _first_sign_in(qd, phones, account, "Qd#head2026!")
    return actors["office_head"]


def _accounts(store: Store) -> list[Any]:
    with store.unit_of_work() as uow:
        return uow.accounts.list()


def _main(args: argparse.Namespace) -> int:
    run_demo(url=args.url, memory=args.memory)
    return 0


def register(commands: Any) -> None:
    """Add ``demo`` to the ``python -m qiandao`` command line (entry point ``qiandao.cli``)."""
    parser = commands.add_parser(
        "demo", help="运行舟山“千岛议家”端到端演示 / run the end-to-end demo"
    )
    parser.add_argument(
        "--url",
        help="数据库 URL（默认：临时目录中的嵌入式 SQLite 文件）/ database URL",
    )
    parser.add_argument(
        "--memory", action="store_true", help="使用内存存储 / use the in-memory store"
    )
    parser.set_defaults(handler=_main)
