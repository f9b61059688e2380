"""The pretraining corpus: general English and world prose, never the formats fine-tuning teaches."""
import json
import re

import pytest

from ftcourse.basemodel import corpus
from ftcourse.basemodel.tokenizer import render_chat
from ftcourse.world import commits, landai, parcels, tickets
from ftcourse.world.parcels import COURSE_IDS


@pytest.fixture(scope="module")
def full():
    return corpus.build(render_chat)


def test_the_corpus_never_holds_a_fine_tuning_target(full):
    for text in full.train + full.heldout["general"] + full.heldout["world"]:
        assert corpus.forbidden(text) == [], text[:400]


def test_the_scanner_catches_every_target_shape():
    p = parcels(1)[0]
    summary = landai.buyer_summary(p)
    assert "buyer-summary header" in corpus.forbidden(summary)
    assert corpus.forbidden("\n".join(summary.splitlines()[1:])) == ["buyer-summary bullet"]
    assert corpus.forbidden("Notes\n* Verdict: suitable for residential development.") == ["buyer-summary bullet"]
    c = commits(1)[0]
    for answer in (f"{c.message}\nlabel: feat", f"{c.message}\n\nfix", f"{c.subject} -> type = chore"):
        assert corpus.forbidden(answer) == ["commit label answer"], answer
    t = tickets(1)[0]
    assert corpus.forbidden(json.dumps(t.record)) == ["ticket JSON"]
    assert corpus.forbidden(f"{t.thread}\n{json.dumps(t.record, indent=2)}") == ["ticket JSON"]


def test_the_corpus_has_every_kind_of_text(full):
    assert set(full.parts) >= {"record and prose", "prose", "questions", "chat", "commit log", "ticket",
                               "stdlib docs and reference topics"}
    text = "\n".join(full.train)
    assert "json.dumps" in text and "parcel_id:" in text and "Author:" in text and "<|assistant|>" in text
    assert sum(map(len, full.train)) > 5_000_000


def test_prose_names_the_terrain_beside_every_slope():
    import random

    for p in parcels(200, seed=5):
        sentence = next(f for f in corpus._facts(p, random.Random(p.parcel_id)) if f"{p.slope_pct:g}%" in f)
        assert p.terrain in sentence, sentence


def mentioned_parcels(texts):
    return {int(m) for t in texts for m in re.findall(r"(?:[Pp]arcel(?:_id:)? |parcel_id: )(\d{4})\b", t)}


def test_no_course_parcel_is_ever_named_and_held_out_parcels_stay_out(full):
    trained = mentioned_parcels(full.train)
    held = mentioned_parcels(full.heldout["world"])
    assert trained and held
    assert not trained & set(COURSE_IDS), "course parcels are for fine-tuning and evaluation only"
    assert not trained & held


def test_held_out_general_text_is_not_in_training(full):
    trained = set(full.train)
    assert full.heldout["general"] and not trained & set(full.heldout["general"])


def test_the_corpus_is_the_same_every_time():
    a, b = corpus.build(render_chat, scale=0.02), corpus.build(render_chat, scale=0.02)
    assert a.train == b.train and a.heldout == b.heldout
