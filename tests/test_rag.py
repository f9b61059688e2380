"""BM25 retrieval finds a parcel's record from a question about it, and sees an update at once."""
import dataclasses

import pytest

from ftcourse import rag, world
from ftcourse.world import landai


@pytest.fixture(scope="module")
def parcels():
    return world.load("parcels")[:200]


def test_words_split_ids_and_codes():
    assert rag.words("parcel_id: 1234\nzoning: R-1, $185,000") == ["parcel", "id", "1234", "zoning", "r", "1", "185", "000"]


def test_a_question_naming_a_parcel_retrieves_its_record(parcels):
    store = rag.parcel_store(parcels)
    assert len(store) == len(parcels)
    for p in parcels[::20]:
        for question in (f"What is parcel {p.parcel_id} zoned?", f"Is lot {p.parcel_id} in a flood zone?"):
            (hit,) = store.search(question)
            assert hit.key == p.parcel_id and hit.text == p.record() and hit.score > 0


def test_search_returns_k_hits_best_first(parcels):
    store = rag.parcel_store(parcels)
    hits = store.search(f"parcel {parcels[3].parcel_id} in {parcels[3].county} County", k=5)
    assert len(hits) == 5 and hits[0].key == parcels[3].parcel_id
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    with pytest.raises(ValueError, match="k must be"):
        store.search("anything", k=0)
    with pytest.raises(ValueError, match="at least one document"):
        rag.Retriever({})


def test_an_update_is_seen_by_the_next_search(parcels):
    store = rag.parcel_store(parcels)
    p = parcels[7]
    rezoned = dataclasses.replace(p, zoning="MU" if p.zoning != "MU" else "R-1")
    store.update(p.parcel_id, rezoned.record())
    (hit,) = store.search(f"What is parcel {p.parcel_id} zoned?")
    assert hit.text == rezoned.record() and store[p.parcel_id] == rezoned.record()
    assert len(store) == len(parcels)


def test_build_prompt_is_landai_user_prompt_for_one_record(parcels):
    p = parcels[0]
    question = f"Summarize parcel {p.parcel_id} for a buyer."
    assert rag.build_prompt(question, rag.parcel_store(parcels).search(question)) == landai.user_prompt(p)


def test_build_prompt_keeps_matching_records_in_order():
    hits = [rag.Hit(1, "a: 1", 2.5), rag.Hit(2, "b: 2\n", 0.7), rag.Hit(3, "c: 3", 0.0)]
    assert rag.build_prompt("  Compare them.\n", hits) == "Compare them.\n\nRecord:\na: 1\n\nRecord:\nb: 2"
    assert rag.build_prompt("Anything?", hits[2:]) == "Anything?"
