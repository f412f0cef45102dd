"""Approval tiers of 第九条: which signer an item's destinations require."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput, SelfReviewForbidden, WrongSigner
from qiandao.rules.roles import SIGNER_ROLES, Role

__all__ = [
    "Destination",
    "TierRules",
    "check_destinations",
    "check_not_author",
    "check_signer",
    "may_sign",
    "required_signer",
    "signer_rank",
]


class Destination(LabelledEnum):
    """Where an edited item is sent (报送去向)."""

    FORWARD_TO_DEPARTMENTS = "forward_to_departments", "转送部门"
    REPORT_TO_CITY_LEADERS = "report_to_city_leaders", "专报市委、市政府领导"
    REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE = (
        "report_to_principal_leaders_and_province",
        "专报市委、市政府主要领导及省政协办公厅",
    )


def _default_signers() -> Mapping[Destination, Role]:
    return {
        Destination.FORWARD_TO_DEPARTMENTS: Role.OFFICE_HEAD,
        Destination.REPORT_TO_CITY_LEADERS: Role.SECRETARY_GENERAL,
        Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE: Role.CHAIR,
    }


def _check_signers(_: object, __: object, value: Mapping[Destination, Role]) -> None:
    missing = [d.value for d in Destination if d not in value]
    if missing:
        raise ValueError(f"缺少报送去向的签发人设置：{', '.join(missing)}")
    bad = [r.value for r in value.values() if r not in SIGNER_ROLES]
    if bad:
        raise ValueError(f"签发人必须是办公室主要负责人、秘书长或主席：{', '.join(bad)}")


@attrs.frozen
class TierRules:
    """Signer per destination and whether a higher signer may sign a lower tier."""

    signers: Mapping[Destination, Role] = attrs.field(
        factory=_default_signers, validator=_check_signers
    )
    """The role that signs off each destination (第九条); every destination present."""
    allow_higher_signer: bool = True
    """Whether a higher signer may sign off a lower tier's destination (第九条)."""


def signer_rank(role: Role) -> int:
    """0 for the office head, 1 for the secretary-general, 2 for the chair; -1 otherwise."""
    return SIGNER_ROLES.index(role) if role in SIGNER_ROLES else -1


def check_destinations(value: Iterable[Destination | str]) -> frozenset[Destination]:
    """The destinations chosen at 初审 or review: a list of known values, at least one (第九条)."""
    if isinstance(value, frozenset) and all(type(v) is Destination for v in value):
        chosen: frozenset[Destination] = value  # already parsed (an item's own destinations)
    elif isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("报送去向须为列表", field="destinations", article="第九条")
    else:
        chosen = frozenset(Destination.parse(v, f"destinations[{i}]") for i, v in enumerate(value))
    if not chosen:
        raise InvalidInput(
            "至少须确定一个报送去向（第九条）", field="destinations", article="第九条"
        )
    return _CHOICES.setdefault(chosen, chosen)


_CHOICES: dict[frozenset[Destination], frozenset[Destination]] = {}
"""One instance of each choice of destinations (at most seven), shared by every item with it."""


def required_signer(destinations: Iterable[Destination], rules: TierRules) -> Role:
    """The signer an item needs: the highest tier among its destinations."""
    return max((rules.signers[d] for d in check_destinations(destinations)), key=signer_rank)


def may_sign(role: Role, destinations: Iterable[Destination], rules: TierRules) -> bool:
    """Whether ``role`` signs an item with these destinations: the required signer, or a higher
    one when the rules allow it (第九条). Used by the sign-off check and the signer's inbox."""
    return _signs_for(role, required_signer(destinations, rules), rules)


def _signs_for(role: Role, needed: Role, rules: TierRules) -> bool:
    return role is needed or (rules.allow_higher_signer and signer_rank(role) > signer_rank(needed))


def check_not_author(actor_id: str, author_ids: Iterable[str]) -> None:
    """Nobody reviews or signs an item they wrote, co-wrote or had merged into it (第九条).

    ``actor_id`` is the person's account id, shared by every role grant the person holds.
    """
    if actor_id in (author_ids if isinstance(author_ids, frozenset | set) else set(author_ids)):
        raise SelfReviewForbidden(actor=actor_id)


def check_signer(
    role: Role,
    destinations: Iterable[Destination],
    rules: TierRules,
) -> Role:
    """Refuse a signer below the required tier (or above it when the setting forbids)."""
    needed = required_signer(destinations, rules)
    if _signs_for(role, needed, rules):
        return needed
    raise WrongSigner(
        f"该信息须由{needed.label}签发（第九条）",
        required=needed.value,
        role=role.value,
    )
