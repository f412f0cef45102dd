"""The aggregates and values of the workflow (第四至十四条), as frozen attrs classes.

State changes happen only in :mod:`qiandao.events` (``evolve``); these classes hold data and
derive what can be derived (adoption, publication, the current text).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import attrs

from qiandao._enum import LabelledEnum
from qiandao.rules.deadlines import DeadlineStatus
from qiandao.rules.lifecycle import (
    ADOPTED_STATES,
    AUTHOR_ONLY_STATES,
    OPEN_ASSIGNMENT_STATES,
    AssignmentState,
    ItemState,
)
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.publication import Access, AccessFacts, is_published
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.text import ID_LENGTH
from qiandao.rules.tiers import Destination

__all__ = [
    "ID_LENGTH",
    "ZHOUSHAN_JURISDICTIONS",
    "Account",
    "AccountEvent",
    "AccountEventKind",
    "AccountStatus",
    "AccountView",
    "Assignment",
    "Channel",
    "Commission",
    "ExtensionDecision",
    "ExtensionRequest",
    "ExternalIdentity",
    "Feedback",
    "FeedbackKind",
    "FocusCategory",
    "GrantProposal",
    "Item",
    "Jurisdiction",
    "ProposalState",
    "Reply",
    "ReviewDecision",
    "ReviewOverrun",
    "ReviewRecord",
    "ReviewStage",
    "RoleGrant",
    "Session",
    "TextVersion",
    "Unit",
    "UnitEvent",
    "UnitEventKind",
    "mask_phone",
]


class FocusCategory(LabelledEnum):
    """The six focus areas of 第四条."""

    POLICY_REACTION = "policy_reaction", "重大政策实施后群众的反映及意见"
    REFORM_DEVELOPMENT_STABILITY = "reform_development_stability", "改革发展稳定的重要情况和意见"
    EMERGENCY = "emergency", "突发事件的情况分析和防治对策"
    UNITED_FRONT_OPINION = "united_front_opinion", "统一战线内部有识之士的前瞻性意见"
    SECTOR_INTEREST = "sector_interest", "社会群体、界别利益相关问题"
    HOT_ISSUE = "hot_issue", "群众关注的热点、难点问题"


class Channel(LabelledEnum):
    """How the information reached the office (第二、七条), derived from who submits and how.

    The channel is never free input: :func:`qiandao.workflow.intake.channel_for` gives it from the
    submitter's role, or 约稿 for an answer to a commission. ``MEETING`` and ``DAILY_WORK`` are
    never derived; they remain so that records imported from an older system still load.
    ``WITHHELD`` is never stored: it is what a reader who may not see the authors (a handling
    unit, a receipt) sees instead, as the channel tells what kind of person submitted.
    """

    MEMBER = "member", "委员报送"
    INFO_OFFICER = "info_officer", "信息员报送"
    CONTACT_POINT = "contact_point", "联系点报送"
    COLLECTIVE = "collective", "集体报送"
    COMMISSION = "commission", "约稿"
    MEETING = "meeting", "会议和活动中收集"
    DAILY_WORK = "daily_work", "日常工作中了解"
    WITHHELD = "withheld", "不显示"


class ReviewStage(LabelledEnum):
    """The three steps of 第九条."""

    PRELIMINARY = "preliminary", "初审"
    DEPUTY = "deputy", "分管领导审核"
    SIGNOFF = "signoff", "审核签发"


class ReviewDecision(LabelledEnum):
    """What a reviewer decided."""

    PASSED = "passed", "通过"
    RETURNED = "returned", "退回"
    REJECTED = "rejected", "不予采用"
    MERGED = "merged", "合并"


class ExtensionDecision(LabelledEnum):
    """The office's answer to an extension request."""

    PENDING = "pending", "待审批"
    APPROVED = "approved", "同意"
    REFUSED = "refused", "不同意"


class FeedbackKind(LabelledEnum):
    """Feedback records of 第十一条."""

    ADOPTION = "adoption", "采用情况"
    INSTRUCTION = "instruction", "领导批示"
    IMPLEMENTATION = "implementation", "落实情况"


@attrs.frozen(weakref_slot=False)
class TextVersion:
    """One version of an item's text; version 1 is the author's original."""

    number: int
    title: str
    body: str
    editor_id: str
    at: datetime


@attrs.frozen(weakref_slot=False)
class ReviewRecord:
    """One decision in the review chain, in order."""

    stage: ReviewStage
    decision: ReviewDecision
    actor_id: str
    role: Role
    at: datetime
    note: str = ""


@attrs.frozen(weakref_slot=False)
class ReviewOverrun:
    """A review stage that waited past its window (急事急报, 第五条), found by the periodic job.

    ``since`` is when the item entered the stage; one record per stage entry at most.
    """

    stage: ReviewStage
    since: datetime
    at: datetime  # when the job found the window exceeded and reminded the office
    waited_workdays: int
    window_workdays: int


@attrs.frozen(weakref_slot=False)
class ExtensionRequest:
    """A unit's request for more time, and the office's decision."""

    requested_at: datetime
    workdays: int
    reason: str
    decision: ExtensionDecision = ExtensionDecision.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    new_due: date | None = None


@attrs.frozen(weakref_slot=False)
class Reply:
    """A unit's written reply (书面答复)."""

    text: str
    by: str
    at: datetime


@attrs.frozen(weakref_slot=False)
class Assignment:
    """One item handed to one unit (交办), with its deadline."""

    id: str
    unit_id: str
    lead: bool
    state: AssignmentState
    assigned_at: datetime
    due: date
    decline_until: date
    provisional: bool = False
    extensions: tuple[ExtensionRequest, ...] = ()
    replies: tuple[Reply, ...] = ()
    rating: Rating = Rating.NOT_RATED
    rated_at: datetime | None = None
    rating_closes: date | None = None
    rating_provisional: bool = (
        False  # the rating window ends in a year without an official schedule
    )
    decline_reason: str | None = None
    reassigned_to: str | None = None
    rehandles: int = 0
    reminders: frozenset[DeadlineStatus] = frozenset()
    reply_workdays: int | None = None  # working days from assignment to the last reply

    @property
    def open(self) -> bool:
        """Still awaiting the unit or the office (not replied, reassigned or cancelled)."""
        return self.state in OPEN_ASSIGNMENT_STATES

    @property
    def reminders_done(self) -> bool:
        """The last reminder of this deadline (严重逾期) has gone out: nothing more to remind."""
        return DeadlineStatus.VERY_OVERDUE in self.reminders

    @property
    def rating_pending_until(self) -> date | None:
        """Last day of a rating window still awaiting the first rating; ``None`` otherwise."""
        if (
            self.state is AssignmentState.REPLIED
            and self.rating is Rating.NOT_RATED
            and self.rated_at is None
        ):
            return self.rating_closes
        return None

    @property
    def provisional_pending(self) -> bool:
        """A provisional date still to be kept: an open reply deadline or an unrated window."""
        if self.provisional and self.open:
            return True
        return self.rating_provisional and self.rating_pending_until is not None

    @property
    def approved_extensions(self) -> int:
        """How many extensions the office granted."""
        return sum(1 for e in self.extensions if e.decision is ExtensionDecision.APPROVED)


@attrs.frozen(weakref_slot=False)
class Feedback:
    """Adoption by a higher body, a leader's instruction, or an implementation note."""

    kind: FeedbackKind
    on: date
    recorded_by: str
    at: datetime
    text: str = ""
    level: AdoptionLevel | None = None
    leader: str | None = None
    rank: LeaderRank | None = None
    shared_with_units: bool = False  # the handling units may read it too


@attrs.frozen(weakref_slot=False)
class Item:
    """One piece of 社情民意信息 from draft to closing. ``version`` counts applied events."""

    id: str
    version: int
    jurisdiction: str
    state: ItemState
    lead_author_id: str
    texts: tuple[TextVersion, ...]
    category: FocusCategory
    channel: Channel
    created_at: datetime
    sector: str = ""
    coauthor_ids: tuple[str, ...] = ()
    urgent: bool = False
    secret: bool = False
    body_withheld: bool = False
    opted_out: frozenset[str] = frozenset()
    destinations: frozenset[Destination] = frozenset()
    reviews: tuple[ReviewRecord, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    submitted_at: datetime | None = None
    issued_at: datetime | None = None
    closed_at: datetime | None = None
    commission_id: str | None = None
    merged_into: str | None = None
    merged_from: tuple[str, ...] = ()
    merged_authors: frozenset[str] = frozenset()
    reported_from: str | None = None
    reported_as: str | None = None
    rehandles: int = 0
    state_since: datetime | None = None  # set by ``evolve`` whenever the state changes
    review_overruns: tuple[ReviewOverrun, ...] = ()

    @property
    def title(self) -> str:
        """The current title (latest text version)."""
        return self.texts[-1].title

    @property
    def body(self) -> str:
        """The current body (latest text version)."""
        return self.texts[-1].body

    @property
    def authors(self) -> frozenset[str]:
        """Lead author and co-authors (联名)."""
        return frozenset((self.lead_author_id, *self.coauthor_ids))

    @property
    def credited(self) -> frozenset[str]:
        """Everyone credited with the item: its authors and those whose items were merged in."""
        return self.authors | self.merged_authors

    @property
    def adopted(self) -> bool:
        """录用: issued or any later state."""
        return self.state in ADOPTED_STATES

    @property
    def published(self) -> bool:
        """Derived: adopted, not 涉密, and no author opted out (第十四条)."""
        return is_published(self.state, secret=self.secret, opted_out=self.opted_out)

    @property
    def open_assignments(self) -> tuple[Assignment, ...]:
        """Assignments still awaiting a unit or the office."""
        return tuple(a for a in self.assignments if a.open)

    def assignment(self, assignment_id: str) -> Assignment | None:
        """The assignment with this id, if any."""
        return next((a for a in self.assignments if a.id == assignment_id), None)

    def as_seen(self, level: Access, unit_id: str | None = None) -> Item:
        """The item as a reader at ``level`` may see it: what they may not see is emptied.

        ``FULL`` sees everything. A unit (``ISSUED_TEXT``, ``unit_id``) sees the issued text, its
        own assignments (and their re-handlings) and the feedback shared with units (第十、十一条);
        a published-only reader sees the published text and its authors (第十四条); ``NONE``
        sees no text. None of them sees earlier versions, the review chain, other units'
        assignments, the sector or who else is credited, nor (unless the authors are shown) the
        channel, which tells what kind of person submitted (``Channel.WITHHELD``). ``published``
        stays right: an author's refusal of publication is kept as an anonymous mark. Every
        command returns this (at ``NONE``: a receipt), so a return value never shows more than
        ``item_detail``.
        """
        if level is Access.FULL:
            return self
        current = self.texts[-1]
        title, body = ("", "") if level is Access.NONE else (current.title, current.body)
        shown_text = TextVersion(1, title, body, "", self.issued_at or current.at)
        unit = unit_id if level is Access.ISSUED_TEXT else None
        own = tuple(a for a in self.assignments if unit and a.unit_id == unit)
        published = level is Access.PUBLISHED
        return attrs.evolve(
            self,
            # who submitted (a member, an officer, a contact point...) only with the authors
            channel=self.channel if published else Channel.WITHHELD,
            lead_author_id=self.lead_author_id if published else "",
            coauthor_ids=self.coauthor_ids if published else (),
            texts=(shown_text,),
            sector="",
            opted_out=frozenset({""}) if self.opted_out else frozenset(),
            destinations=frozenset(),
            reviews=(),
            assignments=own,
            feedback=tuple(f for f in self.feedback if unit and f.shared_with_units),
            commission_id=None,
            merged_from=(),
            merged_authors=frozenset(),
            reported_from=None,
            reported_as=None,
            rehandles=sum(a.rehandles for a in own),
            review_overruns=(),
        )

    def access_facts(self) -> AccessFacts:
        """What the visibility rule needs of this item."""
        author_only = self.state in AUTHOR_ONLY_STATES
        # those credited through a merge read the target as its authors do (第十一条), except a
        # 涉密 target (need to know: they wrote another item) and a draft or withdrawn target
        # (its own authors' alone)
        credited = frozenset() if self.secret or author_only else self.merged_authors
        return AccessFacts(
            author_ids=self.authors | credited,
            jurisdiction=self.jurisdiction,
            # a unit that was reassigned away or cancelled no longer needs to know
            assigned_unit_ids=frozenset(
                a.unit_id
                for a in self.assignments
                if a.state not in (AssignmentState.REASSIGNED, AssignmentState.CANCELLED)
            ),
            secret=self.secret,
            published=self.published,
            author_only=author_only,
        )


@attrs.frozen
class Unit:
    """A handling unit (承办单位) of a jurisdiction.

    A retired unit stays (``active`` false) so past assignments keep naming it; after a
    government reorganisation ``merged_into`` names the unit that took its work over.
    ``version`` moves with every change (compare-and-set on save).
    """

    id: str
    name: str
    jurisdiction: str
    active: bool = True
    version: int = 1
    merged_into: str | None = None


class UnitEventKind(LabelledEnum):
    """What happened to a handling unit (its event log)."""

    ADDED = "added", "新增承办单位"
    RENAMED = "renamed", "承办单位更名"
    MERGED = "merged", "并入其他承办单位"
    ABSORBED = "absorbed", "承接被合并单位"
    RETIRED = "retired", "撤销承办单位"


@attrs.frozen
class UnitEvent:
    """One change of a unit, in order: who did it, when, and the unit as it became.

    ``other`` is the unit at the other end of a merge; ``moved_assignments`` and
    ``moved_grants`` count what a merge moved to the surviving unit.
    """

    unit_id: str
    """Id of the unit that changed."""
    sequence: int
    """Position in the unit's log: 1, 2, 3..."""
    kind: UnitEventKind
    """What happened (added, renamed, merged, absorbed, retired)."""
    actor_id: str
    """Account id of the admin who did it."""
    at: datetime
    """When it happened (an aware datetime)."""
    unit: Unit
    """The unit as it became."""
    other: str | None = None
    """Id of the unit at the other end of a merge (``None`` otherwise)."""
    moved_assignments: int = 0
    """How many open assignments a merge moved to the surviving unit."""
    moved_grants: int = 0
    """How many role grants a merge moved to the surviving unit."""


@attrs.frozen
class Jurisdiction:
    """A CPPCC jurisdiction (政协): the city or a county, its display name and its parent.

    ``code`` is the id used everywhere (``zhoushan``, ``zhoushan.putuo``); ``parent`` is the
    CPPCC one level up that a county reports to (第二十条), ``None`` for the city.
    """

    code: str
    """The id used everywhere (``zhoushan``, ``zhoushan.putuo``)."""
    name: str
    """Display name, in Chinese (e.g. 舟山市政协)."""
    parent: str | None = None
    """Code of the CPPCC one level up (第二十条); ``None`` for the city."""
    version: int = 1
    """Counts changes; compare-and-set on save."""

    @property
    def id(self) -> str:
        """The code, as the id a command's result is found again by (idempotency keys)."""
        return self.code


ZHOUSHAN_JURISDICTIONS = (
    Jurisdiction("zhoushan", "舟山市"),
    Jurisdiction("zhoushan.dinghai", "定海区", "zhoushan"),
    Jurisdiction("zhoushan.putuo", "普陀区", "zhoushan"),
    Jurisdiction("zhoushan.daishan", "岱山县", "zhoushan"),
    Jurisdiction("zhoushan.shengsi", "嵊泗县", "zhoushan"),
)
"""The jurisdictions every new store starts with: 舟山市 and its four 县（区）."""


@attrs.frozen
class Commission:
    """约稿 (第七条): a topic the office asks invitees to research, with a due date."""

    id: str
    version: int
    jurisdiction: str
    topic: str
    invitee_ids: tuple[str, ...]
    due: date
    created_by: str
    created_at: datetime
    item_ids: tuple[str, ...] = ()


class AccountStatus(LabelledEnum):
    """Whether an account may sign in."""

    ACTIVE = "active", "正常"
    LOCKED = "locked", "已锁定"
    DELETED = "deleted", "已删除"


@attrs.frozen
class ExternalIdentity:
    """An identity at an external provider (e.g. 浙政钉), bound to one account."""

    provider: str
    """Name of the external provider (e.g. ``zzd`` for 浙政钉)."""
    subject: str
    """The person's id at that provider."""


@attrs.frozen
class RoleGrant:
    """One role a person holds, in one jurisdiction (and, for a 承办单位, one unit) (第十六条).

    A person has one account and one or more grants: a 主席 is also a 委员, an 信息工作人员 may
    be a 特邀信息员. Each signed-in session acts in one grant at a time.
    """

    role: Role
    jurisdiction: str
    unit_id: str | None = None


@attrs.frozen
class Account:
    """A real-name account of one person (第十六、十七条); the username is the mobile number.

    ``grants`` are the roles the person holds (at least one); ``jurisdiction`` is the person's
    home jurisdiction, which sets the password policy and which admin manages the account.
    After departure the account is kept for attribution with no phone, credentials or bindings.
    ``password_history`` holds the hashes of the passwords replaced most recently (newest
    first; with ``password_hash``, the policy's ``history`` last passwords), never the passwords.
    The store's record: commands and queries return an :class:`AccountView` instead.
    """

    id: str
    version: int
    real_name: str
    grants: tuple[RoleGrant, ...]
    jurisdiction: str
    created_at: datetime
    phone: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    password_hash: str | None = None
    must_change_password: bool = True
    password_changed_at: datetime | None = None
    failed_attempts: int = 0
    locked_until: datetime | None = None
    lock_reason: str = ""
    external_ids: frozenset[ExternalIdentity] = frozenset()
    deleted_at: datetime | None = None
    password_history: tuple[str, ...] = attrs.field(default=(), repr=False)

    def holds(self, roles: Role | Iterable[Role], jurisdiction: str | None = None) -> bool:
        """Whether a grant of the account is one of ``roles`` (in ``jurisdiction``, if given)."""
        wanted = {roles} if isinstance(roles, Role) else set(roles)
        return any(g.role in wanted and jurisdiction in (None, g.jurisdiction) for g in self.grants)


def mask_phone(phone: str | None) -> str | None:
    """A mobile number as others see it: the first three and last four digits (``139****0001``)."""
    if phone is None:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "****"


@attrs.frozen
class AccountView:
    """An account as every command and query returns it (第十七、十九条).

    It never carries the password hash or history (an administrator could crack them offline),
    and ``phone`` is masked (``139****0001``, ``phone_masked`` true) for everyone but the person
    themself, so that a host cannot leak a number through a return value it did not mean to show.
    """

    id: str
    version: int
    real_name: str
    grants: tuple[RoleGrant, ...]
    jurisdiction: str
    created_at: datetime
    phone: str | None
    phone_masked: bool
    status: AccountStatus
    must_change_password: bool
    password_changed_at: datetime | None
    failed_attempts: int
    locked_until: datetime | None
    lock_reason: str
    external_ids: frozenset[ExternalIdentity]
    deleted_at: datetime | None

    @classmethod
    def of(cls, account: Account, viewer_id: str | None) -> AccountView:
        """The view of ``account`` for the person ``viewer_id`` (``None``: nobody in particular):
        the full phone only when the viewer is the account's own person."""
        own = viewer_id is not None and viewer_id == account.id
        # field by field, as the view declares them: a field added to Account is not shown
        # until the view names it (an allow-list, never a copy of the record)
        shown = {
            f.name: getattr(account, f.name)
            for f in attrs.fields(cls)
            if f.name not in ("phone", "phone_masked")
        }
        return cls(
            **shown,
            phone=account.phone if own else mask_phone(account.phone),
            phone_masked=not own and account.phone is not None,
        )


class AccountEventKind(LabelledEnum):
    """What happened to an account (the account event log, 第十七条)."""

    REGISTERED = "registered", "注册"
    GRANT_ADDED = "grant_added", "增加角色"
    GRANT_REVOKED = "grant_revoked", "撤销角色"
    LOCKED = "locked", "失窃锁定"
    UNLOCKED = "unlocked", "解锁或重置密码"
    PASSWORD_CHANGED = "password_changed", "修改密码"
    DEPARTED = "departed", "离职删除"
    IDENTITY_BOUND = "identity_bound", "绑定外部身份"
    IDENTITY_UNBOUND = "identity_unbound", "解除外部身份绑定"
    GRANT_PROPOSED = "grant_proposed", "提出角色申请"
    GRANT_APPROVED = "grant_approved", "批准角色申请"
    GRANT_REJECTED = "grant_rejected", "驳回角色申请"


class ProposalState(LabelledEnum):
    """Where a proposed content grant stands (two-person rule, 三员分立)."""

    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"


@attrs.frozen
class GrantProposal:
    """A content role grant the system admin proposed; it takes effect once the security admin
    approves it (三员分立, 第十九条). The proposer never decides.

    ``decider_id``, ``decided_at`` and ``reason`` (of a rejection) are set when it is decided.
    """

    id: str
    """Unique id of the proposal."""
    version: int
    """Counts changes; compare-and-set on save."""
    account_id: str
    """Id of the account the grant is for."""
    grant: RoleGrant
    """The proposed role grant."""
    proposer_id: str
    """Account id of the system admin who proposed it."""
    proposed_at: datetime
    """When it was proposed (an aware datetime)."""
    state: ProposalState = ProposalState.PENDING
    """Pending, approved or rejected."""
    decider_id: str | None = None
    """Account id of the security admin who decided, once decided."""
    decided_at: datetime | None = None
    """When it was decided, once decided."""
    reason: str = ""
    """Why it was rejected (``""`` otherwise)."""


@attrs.frozen
class AccountEvent:
    """One change of an account, in order: who did it, when, and the grant it concerns."""

    account_id: str
    sequence: int
    kind: AccountEventKind
    actor_id: str
    at: datetime
    grant: RoleGrant | None = None


@attrs.frozen
class Session:
    """A signed-in session; the store keeps only a hash of its token.

    ``grant`` is the role grant the session acts in (set at sign-in when the person holds one
    grant, else by :meth:`~qiandao.Qiandao.select_grant`).
    ``last_seen`` is refreshed at most once a minute; ``expires_at`` is when the session ends
    at the latest unless used again (the idle timeout after ``last_seen``, capped by the absolute
    lifetime after ``created_at``), by which the periodic job purges it.
    """

    token_hash: str
    """Hash of the session token (the token itself is never stored)."""
    account_id: str
    """Id of the signed-in account."""
    created_at: datetime
    """When the person signed in (an aware datetime)."""
    last_seen: datetime
    """When the session was last used (refreshed at most once a minute)."""
    password_change_only: bool = False
    """Whether the session may only change the password (first sign-in, expiry)."""
    revoked: bool = False
    """Whether the session has been ended (sign-out, lock, grant change)."""
    grant: RoleGrant | None = None
    """The role grant the session acts in, once one is selected."""
    expires_at: datetime | None = None
    """When the session ends at the latest unless used again; ``None``: not set."""
