"""The contract suite of the similarity index (:class:`~qiandao.ports.store.
SimilarityRepository`), part of :class:`~qiandao.testing.StoreContract`.

It needs only ``new_store()`` (a new, empty store whose made stores are released after the
test), which :class:`~qiandao.testing.StoreContract` provides. Imports pytest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from qiandao.ports.store import Store, UnitOfWork
from qiandao.similarity import SimilarityCandidate, SimilarityEntry, band_keys

__all__ = ["SimilarityContract", "similarity_entry"]

_T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def similarity_entry(
    item_id: str,
    seed: int,
    *,
    jurisdiction: str = "zhoushan",
    at: datetime = _T0,
    num_perm: int = 256,
) -> SimilarityEntry:
    """An entry whose signature is drawn from ``seed`` (equal seeds: equal signatures),
    values from 0 to 2**32 - 1, band keys of both signs."""
    values = tuple((seed * 2_654_435_761 + n * 40_503) % 2**32 for n in range(num_perm))
    values = (2**32 - 1, 0, *values[2:])
    return SimilarityEntry(item_id, jurisdiction, at, values, band_keys(values))


class SimilarityContract:
    """What every store's similarity index does (write, replace, drop, look up by band)."""

    def new_store(self) -> Store:  # pragma: no cover - provided by StoreContract
        """A new, empty store, released after the test (:class:`StoreContract` gives it)."""
        raise NotImplementedError

    def _indexed(self, *entries: SimilarityEntry) -> Store:
        store = self.new_store()
        with store.unit_of_work() as uow:
            for entry in entries:
                uow.similarity.put(entry)
            uow.commit()
        return store

    def test_similarity_entry_round_trips(self) -> None:
        entry = similarity_entry("item-1", 7, at=_T0 + timedelta(microseconds=3))
        store = self._indexed(entry)
        with store.unit_of_work() as uow:
            assert uow.similarity.get("item-1") == entry
            assert uow.similarity.get("item-2") is None
        assert any(key < 0 for key in entry.bands) and any(key > 0 for key in entry.bands)

    def test_similarity_candidates_share_a_band_in_the_jurisdiction_and_time(self) -> None:
        one = similarity_entry("item-1", 7)
        same_text = similarity_entry("item-2", 7, at=_T0 + timedelta(days=3))
        other_text = similarity_entry("item-3", 8)
        elsewhere = similarity_entry("item-4", 7, jurisdiction="zhoushan.dinghai")
        older = similarity_entry("item-5", 7, at=_T0 - timedelta(seconds=1))
        store = self._indexed(same_text, one, other_text, elsewhere, older)
        every = len(one.bands)
        with store.unit_of_work() as uow:
            found = uow.similarity.candidates(one.bands, "zhoushan", _T0, 50)
            assert found == [  # by item id; the bound is inclusive
                SimilarityCandidate("item-1", one.signature, every),
                SimilarityCandidate("item-2", same_text.signature, every),
            ]
            assert _hits(uow, one.bands[5:6], _T0) == [("item-1", 1), ("item-2", 1)]
            assert _hits(uow, [], _T0) == []
            assert _hits(uow, one.bands, _T0, "zhoushan.dinghai") == [("item-4", every)]
            assert _hits(uow, one.bands, _T0 + timedelta(days=1)) == [("item-2", every)]

    def test_similarity_candidates_sharing_the_most_bands_come_first_up_to_the_limit(
        self,
    ) -> None:
        signature = similarity_entry("x", 1).signature

        def sharing(item_id: str, keys: tuple[int, ...]) -> SimilarityEntry:
            return SimilarityEntry(item_id, "zhoushan", _T0, signature, keys)

        three = sharing("item-a", (1, 2, 3, -90, -91))
        five = sharing("item-b", (-1, 1, 2, 3, 4, 5))
        also_three = sharing("item-c", (-92, 6, 7, 8))
        none = sharing("item-d", (-93, -94))
        store = self._indexed(none, also_three, five, three)
        asked = (1, 2, 3, 4, 5, 6, 7, 8)
        with store.unit_of_work() as uow:
            ranking = [("item-b", 5), ("item-a", 3), ("item-c", 3)]
            assert _hits(uow, asked, _T0, limit=10) == ranking
            assert _hits(uow, asked, _T0, limit=2) == ranking[:2]
            assert _hits(uow, asked, _T0, limit=1) == ranking[:1]

    def test_similarity_put_replaces_and_drop_removes(self) -> None:
        store = self._indexed(similarity_entry("item-1", 7), similarity_entry("item-2", 7))
        revised = similarity_entry("item-1", 9)
        with store.unit_of_work() as uow:
            uow.similarity.put(revised)
            uow.similarity.drop("item-2")
            uow.similarity.drop("item-never")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.similarity.get("item-1") == revised
            assert uow.similarity.get("item-2") is None
            assert _hits(uow, similarity_entry("x", 7).bands, _T0) == []
            (found,) = uow.similarity.candidates(revised.bands, "zhoushan", _T0, 50)
            assert (found.item_id, found.signature) == ("item-1", revised.signature)

    def test_similarity_writes_are_part_of_the_unit_of_work(self) -> None:
        kept = similarity_entry("item-1", 7)
        store = self._indexed(kept)
        staged = similarity_entry("item-2", 7)
        every = len(kept.bands)
        with store.unit_of_work() as uow:
            uow.similarity.put(staged)
            uow.similarity.drop("item-1")
            assert _hits(uow, kept.bands, _T0) == [("item-2", every)]
            uow.rollback()
        with store.unit_of_work() as uow:
            assert _hits(uow, kept.bands, _T0) == [("item-1", every)]


def _hits(
    uow: UnitOfWork,
    bands: Sequence[int],
    since: datetime,
    jurisdiction: str = "zhoushan",
    *,
    limit: int = 50,
) -> list[tuple[str, int]]:
    """The candidates' ids and shared key counts, in order."""
    found = uow.similarity.candidates(bands, jurisdiction, since, limit)
    return [(c.item_id, c.shared) for c in found]
