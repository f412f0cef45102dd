"""What each command and query of :class:`qiandao.Qiandao` returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import assert_type

from qiandao import (
    AccountEvent,
    AccountView,
    Actor,
    AdoptionLevel,
    AllowedAction,
    AssignmentCommand,
    AssignmentView,
    Bulletin,
    ChinaWorkdays,
    Commission,
    CommissionProgress,
    DeadlineExplanation,
    DispatchReport,
    GrantProposal,
    GroupLine,
    InviteeProgress,
    Item,
    ItemCommand,
    ItemView,
    JobReport,
    Jurisdiction,
    LeaderRank,
    OverdueReview,
    Page,
    PasswordPolicy,
    PersonLine,
    PolicyChange,
    Qiandao,
    RankedScore,
    Rating,
    RuleSet,
    SignIn,
    Unit,
    UnitEvent,
    UnitLine,
)


def collection_and_review(qd: Qiandao, author: Actor, office: Actor, item_id: str) -> None:
    data = {"title": "海岛渔民养老保险", "body": "……", "category": "hot_issue"}
    assert_type(qd.draft(author, data), Item)
    assert_type(qd.submit_new(author, data, idempotency_key="req-1"), Item)
    assert_type(qd.edit_draft(author, item_id, title="新标题"), Item)
    assert_type(qd.submit(author, item_id), Item)
    assert_type(qd.resubmit(author, item_id, body="修改后的正文"), Item)
    assert_type(qd.withdraw(author, item_id), Item)
    assert_type(qd.pass_preliminary(office, item_id, destinations=["forward_to_departments"]), Item)
    assert_type(qd.return_for_revision(office, item_id, "请补充数据"), Item)
    assert_type(qd.reject(office, item_id, "不予采用"), Item)
    assert_type(qd.merge(office, item_id, "other-item"), Item)
    assert_type(qd.approve(office, item_id, destinations=None), Item)
    assert_type(qd.send_back(office, item_id, "请补充"), Item)
    assert_type(qd.sign(office, item_id), Item)


def handling(qd: Qiandao, office: Actor, unit: Actor, author: Actor, item: str, a: str) -> None:
    assert_type(qd.assign(office, item, [("unit-1", True), "unit-2"]), Item)
    assert_type(qd.accept(unit, item, a), Item)
    assert_type(qd.decline(unit, item, a, "不属于本单位职责范围"), Item)
    assert_type(qd.reassign(office, item, a, "unit-3", lead=None), Item)
    assert_type(qd.overrule(office, item, a, "属于职责范围"), Item)
    assert_type(qd.cancel_assignment(office, item, a, "交办有误"), Item)
    assert_type(qd.request_extension(unit, item, a, 5, "需要调研"), Item)
    assert_type(qd.approve_extension(office, item, a), Item)
    assert_type(qd.refuse_extension(office, item, a, "理由不充分"), Item)
    assert_type(qd.reply(unit, item, a, "已办理"), Item)
    assert_type(qd.rate(author, item, a, Rating.BASICALLY_SATISFIED), Item)
    assert_type(qd.order_rehandle(office, item, a, "不满意"), Item)


def feedback_and_commissions(qd: Qiandao, office: Actor, author: Actor, item: str) -> None:
    on = date(2026, 11, 26)
    assert_type(qd.close(office, item), Item)
    assert_type(qd.record_adoption(office, item, AdoptionLevel.PROVINCIAL_CPPCC, on), Item)
    rank = LeaderRank.CITY_LEADER
    assert_type(qd.record_instruction(office, item, "某领导", rank, on, "请研究"), Item)
    assert_type(qd.record_implementation(office, item, on, "已落实"), Item)
    assert_type(qd.set_publication_consent(author, item, False), Item)
    assert_type(qd.reclassify(office, item, True, "密级调整"), Item)
    assert_type(qd.report_up(office, item), Item)
    commission = qd.create_commission(office, "海岛共同富裕", ["m1", "m2"], on)
    assert_type(commission, Commission)
    progress = qd.commission_progress(office, commission.id)
    assert_type(progress, CommissionProgress)
    assert_type(progress.invitees, tuple[InviteeProgress, ...])
    assert_type(progress.outstanding, tuple[str, ...])


def queries(qd: Qiandao, actor: Actor, item: str, a: str) -> None:
    assert_type(qd.item_detail(actor, item), ItemView)
    assert_type(qd.item_detail(actor, item).assignments, tuple[AssignmentView, ...])
    assert_type(qd.item_detail(actor, item).actions, tuple[AllowedAction, ...])
    assert_type(qd.allowed_actions(actor, item), tuple[AllowedAction, ...])
    assert_type(qd.allowed_actions(actor, item)[0].command, AssignmentCommand | ItemCommand)
    assert_type(qd.my_items(actor, limit=20, cursor=None), Page[ItemView])
    assert_type(qd.published(actor), Page[ItemView])
    assert_type(qd.published(actor).items, tuple[ItemView, ...])
    assert_type(qd.my_items(actor).next_cursor, str | None)
    assert_type(qd.inbox(actor, limit=50), list[ItemView])
    assert_type(qd.overdue(actor, very=True), Page[tuple[ItemView, AssignmentView]])
    assert_type(qd.overdue_reviews(actor, cursor=None), Page[OverdueReview])
    assert_type(qd.explain_deadline(actor, item, a), DeadlineExplanation)
    assert_type(qd.explain_deadline(actor, item, a).text(), str)
    report = qd.quarterly_bulletin(actor, 2026, 4)
    assert_type(report, Bulletin)
    assert_type(report.people, tuple[PersonLine, ...])
    assert_type(report.units, tuple[UnitLine, ...])
    assert_type(report.by_category, tuple[GroupLine, ...])
    assert_type(report.ranking, tuple[RankedScore, ...])
    assert_type(report.units[0].satisfaction_rate, float | None)
    assert_type(qd.assessment(actor, 2026), list[RankedScore])


def jobs_dispatch_and_setup(qd: Qiandao) -> None:
    report = qd.run_due_jobs()
    assert_type(report, JobReport)
    assert_type(report.reminders_sent, int)
    assert_type(qd.dispatch(), DispatchReport)
    assert_type(qd.dispatch(limit=10).sent, int)
    assert_type(qd.adopt_calendar(ChinaWorkdays.official()), int)
    assert_type(qd.rules_for("zhoushan"), RuleSet)
    assert_type(qd.now(), datetime)


def accounts(qd: Qiandao, admin: Actor, phone: str, token: str) -> None:
    registered = qd.register(admin, real_name="王小明", phone=phone, role="member")
    assert_type(registered, AccountView)
    assert_type(qd.bootstrap_admin(real_name="管理员", phone=phone), tuple[AccountView, str])
    signed = qd.sign_in(phone, "initial password")
    assert_type(signed, SignIn)
    assert_type(signed.actor, Actor | None)  # None until the first password change
    assert_type(signed.must_change_password, bool)
    assert_type(qd.change_password(token, "old", "new password!9"), SignIn)
    assert_type(qd.authenticate(token), Actor)
    assert_type(qd.sign_out(token), None)
    assert_type(qd.report_theft(admin, "acc-1"), AccountView)
    assert_type(qd.unlock(admin, "acc-1"), AccountView)
    assert_type(qd.depart(admin, "acc-1"), AccountView)
    assert_type(qd.bind_external(token, "zzd", "ticket"), AccountView)
    assert_type(qd.sign_in_external("zzd", "ticket"), SignIn)
    assert_type(qd.password_policy("zhoushan"), PasswordPolicy)
    proposal = qd.grant_role(admin, "acc-1", "editor", "zhoushan")
    assert_type(proposal, GrantProposal)
    assert_type(qd.grant_proposals(admin), Page[GrantProposal])
    assert_type(qd.approve_grant(admin, proposal.id), GrantProposal)
    assert_type(qd.reject_grant(admin, proposal.id, "理由"), GrantProposal)
    policy = qd.password_policy("zhoushan")
    assert_type(qd.set_password_policy(admin, "zhoushan", policy), PolicyChange)
    assert_type(qd.password_policy_changes(admin, "zhoushan"), Page[PolicyChange])
    assert_type(qd.account_history(admin, "acc-1", limit=10), Page[AccountEvent])
    assert_type(qd.units(admin, cursor=None), Page[Unit])
    assert_type(qd.unit_history(admin, "u-1"), Page[UnitEvent])
    assert_type(qd.jurisdictions(admin), Page[Jurisdiction])
