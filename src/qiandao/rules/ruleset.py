"""A jurisdiction's rules (第二十条): the Zhoushan defaults plus a county's TOML overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from qiandao._enum import LabelledEnum
from qiandao.converter import structure, unstructure
from qiandao.errors import RuleSetError
from qiandao.rules.deadlines import DeadlineRules
from qiandao.rules.points import PointsTable
from qiandao.rules.rating import RatingRules
from qiandao.rules.tiers import TierRules

__all__ = [
    "AccountRules",
    "IntakeRules",
    "PasswordProfile",
    "RuleSet",
    "parent_jurisdiction",
]


class PasswordProfile(LabelledEnum):
    """Password and session policy profiles (第十九条)."""

    DJCP_LEVEL3 = "djcp_level3", "等保三级"
    OWASP_ASVS = "owasp_asvs", "OWASP ASVS"


@attrs.frozen
class IntakeRules:
    """Limits at submission, internal review targets (急事急报) and the 涉密 intake choice."""

    max_title_chars: int = attrs.field(default=200, validator=attrs.validators.ge(1))
    """Most characters a title may have."""
    max_body_chars: int = attrs.field(default=20_000, validator=attrs.validators.ge(1))
    """Most characters a body may have."""
    max_reason_chars: int = attrs.field(default=2_000, validator=attrs.validators.ge(1))
    """Most characters a reason or note may have (a return, a decline, an extension)."""
    max_coauthors: int = attrs.field(default=20, validator=attrs.validators.ge(0))
    """Most co-authors one item may name (第五条)."""
    review_workdays: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    """Working days an ordinary item may wait at each internal review stage (第五条)."""
    urgent_review_workdays: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Working days an urgent item may wait at each review stage (急事急报)."""
    refuse_secret_bodies: bool = False
    """Whether a 涉密 item is taken without its body (handled offline)."""


@attrs.frozen
class AccountRules:
    """Which password profile applies (its figures live in ``qiandao.accounts``)."""

    password_profile: PasswordProfile = PasswordProfile.DJCP_LEVEL3
    """The named password and lockout profile (等保三级 by default, 第十九条)."""


@attrs.frozen
class RuleSet:
    """Every setting of one jurisdiction. Immutable: overrides make a new RuleSet."""

    jurisdiction: str = "zhoushan"
    """Code of the jurisdiction (政协) these rules belong to."""
    name: str = "舟山市政协"
    """Display name of the jurisdiction, in Chinese."""
    tiers: TierRules = attrs.Factory(TierRules)
    """Who signs off which destination (第九条)."""
    deadlines: DeadlineRules = attrs.Factory(DeadlineRules)
    """Working-day figures of assignment handling (第十条)."""
    rating: RatingRules = attrs.Factory(RatingRules)
    """The rating window and re-handling limits (第十二条)."""
    points: PointsTable = attrs.Factory(PointsTable)
    """Points per credit, for the assessment."""
    intake: IntakeRules = attrs.Factory(IntakeRules)
    """Limits at submission and the internal review targets."""
    accounts: AccountRules = attrs.Factory(AccountRules)
    """Which password and lockout profile applies."""

    @classmethod
    def zhoushan(cls) -> RuleSet:
        """The city defaults of the Zhoushan regulation."""
        return cls()

    def with_overrides(self, overrides: Mapping[str, Any], *, source: str = "覆盖设置") -> RuleSet:
        """A new RuleSet: these rules with ``overrides`` merged in; self is unchanged."""
        if not isinstance(overrides, Mapping):
            raise RuleSetError(f"{source}须为键值表", errors=("expected a table @ $",))
        merged = _merge(unstructure(self), overrides)
        return structure(merged, RuleSet, error=RuleSetError, what=source)

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str], *, base: RuleSet | None = None) -> RuleSet:
        """Load a county's overrides from a TOML file onto ``base`` (default: the city rules)."""
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RuleSetError(f"无法读取规则文件 {path}：{exc.strerror}", path=str(path)) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RuleSetError(f"规则文件 {path} 不是合法的 TOML：{exc}", path=str(path)) from exc
        return (base or cls.zhoushan()).with_overrides(data, source=f"规则文件 {path.name}")


def _merge(base: Any, override: Mapping[str, Any]) -> Any:
    """Deep-merge tables; unknown keys are kept so the converter names them as errors."""
    if not isinstance(base, dict):
        return override
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parent_jurisdiction(code: str) -> str | None:
    """The CPPCC one level up; codes are dotted paths (``zhoushan.putuo`` → ``zhoushan``).

    A county reports adopted items up to its parent (第二十条); the city has none.
    """
    parent, dot, _ = code.rpartition(".")
    return parent if dot else None
