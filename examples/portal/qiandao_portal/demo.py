"""Demo data for the portal: Zhoushan people with their credentials, units, an item in every state.

Everything goes through the library's own commands (registration proposed by the system admin
and approved by the security admin, initial passwords delivered to the person and changed at
first sign-in), so the demo database is one a real office could have produced.
"""

from __future__ import annotations

import secrets

import attrs

from qiandao import (
    Actor,
    AdoptionLevel,
    FocusCategory,
    LeaderRank,
    Qiandao,
    Rating,
    Role,
    Target,
    TargetMeasure,
    TargetScope,
)
from qiandao_adapters.delivery import RecordingDelivery

__all__ = ["DEMO_JURISDICTION", "PEOPLE", "UNITS", "DemoAccount", "DemoData", "seed"]

DEMO_JURISDICTION = "zhoushan"

UNITS = {"hrss": "市人力社保局", "transport": "市交通运输局", "agri": "市农业农村局"}

# key: (real name, phone, role, unit)
PEOPLE: dict[str, tuple[str, str, Role, str | None]] = {
    "member": ("张海舟", "13905800001", Role.MEMBER, None),
    "officer": ("林晓渔", "13905800002", Role.INFO_OFFICER, None),
    "editor": ("李编辑", "13905800003", Role.EDITOR, None),
    "deputy": ("王分管", "13905800004", Role.DEPUTY, None),
    "office_head": ("赵主任", "13905800009", Role.OFFICE_HEAD, None),
    "chair": ("陈主席", "13905800005", Role.CHAIR, None),
    "hrss": ("人社局联络员", "13905800006", Role.HANDLING_UNIT, "hrss"),
    "transport": ("交通局联络员", "13905800007", Role.HANDLING_UNIT, "transport"),
    "agri": ("农业局联络员", "13905800008", Role.HANDLING_UNIT, "agri"),
    "security": ("吴安全", "13905800010", Role.SECURITY_ADMIN, None),
    "auditor": ("郑审计", "13905800011", Role.AUDIT_ADMIN, None),
}
NEWCOMER = ("孙新委", "13905800012")  # keeps the initial password: shows the first sign-in


@attrs.frozen
class DemoAccount:
    """One demo person's sign-in: phone (the username) and password; ``initial`` when the
    password is the delivered initial one, which must be changed at first sign-in."""

    key: str
    name: str
    role: Role
    phone: str
    password: str = attrs.field(repr=False)
    initial: bool = False


@attrs.frozen
class DemoData:
    """The seeded accounts (by key) and the ids of the items made, by their state."""

    accounts: dict[str, DemoAccount]
    items: dict[str, str]


def _password() -> str:
    """A strong random password (upper, lower, digits and a symbol)."""
    return f"Zs#{secrets.token_hex(5)}Q{secrets.randbelow(90) + 10}"


def _sign_up(qd: Qiandao, phones: RecordingDelivery, phone: str, new: str) -> Actor:
    """First sign-in with the password delivered to the phone, changed at once."""
    initial = phones.password_of(phone)
    first = qd.sign_in(phone, initial)
    return qd.authenticate(qd.change_password(first.token, initial, new).token)


def seed(qd: Qiandao, phones: RecordingDelivery) -> DemoData:
    """Fill an empty store: the 三员, the office, three units, members, and one item in each
    state of the lifecycle. Returns every credential (to be shown once)."""
    j = DEMO_JURISDICTION
    _admin_view, initial = qd.bootstrap_admin(real_name="周系统", phone="13905800000")
    admin_password = _password()
    first = qd.sign_in("13905800000", initial)
    admin = qd.authenticate(qd.change_password(first.token, initial, admin_password).token)
    accounts = {
        "admin": DemoAccount("admin", "周系统", Role.SYSTEM_ADMIN, "13905800000", admin_password)
    }
    for unit_id, name in UNITS.items():
        qd.add_unit(admin, unit_id, name, j)
    actors: dict[str, Actor] = {}
    name, phone, role, _ = PEOPLE["security"]
    qd.register(admin, real_name=name, phone=phone, role=role)
    password = _password()
    security = actors["security"] = _sign_up(qd, phones, phone, password)
    accounts["security"] = DemoAccount("security", name, role, phone, password)
    for key, (name, phone, role, unit) in PEOPLE.items():
        if key == "security":
            continue
        qd.register(admin, real_name=name, phone=phone, role=role, unit_id=unit)
        for proposal in qd.grant_proposals(security).items:  # 三员分立: approved by security
            qd.approve_grant(security, proposal.id)
        password = _password()
        actors[key] = _sign_up(qd, phones, phone, password)
        accounts[key] = DemoAccount(key, name, role, phone, password)
    name, phone = NEWCOMER
    qd.register(admin, real_name=name, phone=phone, role=Role.MEMBER)
    for proposal in qd.grant_proposals(security).items:
        qd.approve_grant(security, proposal.id)
    accounts["newcomer"] = DemoAccount(
        "newcomer", name, Role.MEMBER, phone, phones.password_of(phone), initial=True
    )
    items = _items(qd, actors)
    _plan(qd, actors["editor"])
    return DemoData(accounts, items)


def _plan(qd: Qiandao, editor: Actor) -> None:
    """This year's plan (第六条): what the bulletin measures progress against."""
    targets = [
        Target(TargetScope.ROLE, TargetMeasure.SUBMITTED, 2, role=Role.MEMBER),
        Target(TargetScope.ROLE, TargetMeasure.SUBMITTED, 4, role=Role.INFO_OFFICER),
        Target(TargetScope.JURISDICTION, TargetMeasure.SUBMITTED, 40),
        Target(TargetScope.JURISDICTION, TargetMeasure.ADOPTED, 10),
        Target(TargetScope.CATEGORY, TargetMeasure.SUBMITTED, 5, category=FocusCategory.HOT_ISSUE),
    ]
    qd.set_annual_plan(editor, qd.now().year, targets, note="年度社情民意信息工作计划")


def _items(qd: Qiandao, a: dict[str, Actor]) -> dict[str, str]:
    """One item in every state, written and handled by the demo people."""
    member, officer, editor = a["member"], a["officer"], a["editor"]
    deputy, head, hrss, agri = a["deputy"], a["office_head"], a["hrss"], a["agri"]
    made: dict[str, str] = {}

    def new(title: str, body: str, who: Actor = member, **extra: object) -> str:
        data = {"title": title, "body": body, "category": "hot_issue", **extra}
        return qd.submit_new(who, data).id

    def issued(title: str, body: str, who: Actor = member) -> str:
        item_id = new(title, body, who)
        qd.pass_preliminary(editor, item_id, destinations=["forward_to_departments"])
        qd.approve(deputy, item_id, note="同意")
        qd.sign(head, item_id, note="同意转送")
        return item_id

    draft = qd.draft(
        member,
        {
            "title": "关于规范海岛民宿消防安全的建议（草稿）",
            "body": "正在整理……",
            "category": "hot_issue",
        },
    )
    made["draft"] = draft.id
    made["submitted"] = new(
        "关于增开沈家门至东极岛冬季航班的建议",
        "冬季东极岛航班每日仅一班，岛上老人就医出行困难。建议：一是冬季增开周末航班；二是……",
        officer,
    )
    made["similar"] = new(  # the same matter, reported by the member: 初审 shows the two alike
        "关于增加沈家门至东极岛冬季航班的建议",
        "冬季东极岛航班每天只有一班，岛上老人看病出行很困难。建议：一是冬季增开周末航班；二是……",
    )
    returned = new("关于老旧小区加装电梯的建议", "部分老旧小区居民反映加装电梯难……")
    qd.return_for_revision(editor, returned, "请补充涉及小区数量和居民意愿调查情况")
    made["returned"] = returned
    in_review = new("关于完善海岛学校教师轮岗机制的建议", "海岛学校教师流动性大……")
    qd.pass_preliminary(editor, in_review, destinations=["forward_to_departments"])
    made["in_review"] = in_review
    awaiting = new("关于加强海上风电项目渔业补偿的建议", "海上风电项目建设影响传统渔场……")
    qd.pass_preliminary(editor, awaiting, destinations=["forward_to_departments"])
    qd.approve(deputy, awaiting, note="同意")
    made["awaiting_signoff"] = awaiting
    made["issued"] = issued("关于推进渔港经济区建设的建议", "渔港基础设施老化……")
    handling = issued("关于解决渔民养老保险跨省转移接续难的建议", "我市部分渔民在外省船队务工……")
    item = qd.assign(editor, handling, [("hrss", True)])
    qd.accept(hrss, handling, item.assignments[0].id)
    made["handling"] = handling
    replied = issued("关于扶持远洋渔业转型升级的建议", "远洋渔业面临成本上升……")
    item = qd.assign(editor, replied, [("agri", True)])
    (assignment,) = item.assignments
    qd.accept(agri, replied, assignment.id)
    qd.reply(agri, replied, assignment.id, "已会同相关部门研究远洋渔业扶持政策，年内出台实施意见。")
    made["replied"] = replied
    closed = issued("关于提升海岛公交服务的建议", "海岛公交班次少、线路覆盖不足……")
    item = qd.assign(editor, closed, [("agri", True)])
    (assignment,) = item.assignments
    qd.accept(agri, closed, assignment.id)
    qd.reply(agri, closed, assignment.id, "已优化线路三条，增加班次。")
    qd.rate(member, closed, assignment.id, Rating.SATISFIED)
    today = qd.now().date()
    qd.record_adoption(editor, closed, AdoptionLevel.CITY_CPPCC, today, "市政协《社情民意》采用")
    qd.record_instruction(
        editor, closed, "市长", LeaderRank.CITY_PRINCIPAL_LEADER, today, "请交通部门抓好落实。"
    )
    qd.close(editor, closed)
    made["closed"] = closed
    rejected = new("关于某商场停车收费的意见", "商场停车费偏高……")
    qd.reject(editor, rejected, "属个体经营纠纷，建议通过消费者投诉渠道反映")
    made["not_adopted"] = rejected
    duplicate = new("关于东极岛冬季航班的意见", "东极岛冬季航班太少……", member)
    qd.merge(editor, duplicate, made["submitted"], "与信息员所报内容相同，合并办理")
    made["merged"] = duplicate
    withdrawn = new("关于夜市噪音的意见", "夜市噪音扰民……")
    qd.return_for_revision(editor, withdrawn, "请核实噪音来源")
    qd.withdraw(member, withdrawn)
    made["withdrawn"] = withdrawn
    return made
