"""Dedup finds case, whitespace and small-edit copies without comparing all pairs; splits never leak."""
import random

import numpy as np
import pytest

from ftcourse import dedup, splits

WORDS = [f"w{i}" for i in range(2000)]


def sentence(rng, n=60):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def example(user, answer="The answer."):
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


def test_normalize_folds_case_unicode_and_whitespace():
    assert dedup.normalize("  Parcel\t4412 \n\n IS  Ｚoned\u00a0R-2 ") == "parcel 4412 is zoned r-2"
    assert dedup.normalize("Straße") == dedup.normalize("STRASSE")


def test_exact_duplicates_catch_case_and_whitespace_variants_and_keep_the_first():
    texts = ["Parcel 7 is flat.", "other", "PARCEL 7 IS FLAT.", "parcel  7\tis flat. ", "Parcel 7 is flat!"]
    assert dedup.exact_duplicates(texts) == [dedup.Cluster(0, (2, 3), "exact")]


def test_near_duplicates_catch_small_edits_but_not_different_texts():
    rng = random.Random(0)
    base = [sentence(rng) for _ in range(300)]
    words = base[7].split()
    edited = " ".join(words[:30] + ["changed"] + words[31:])  # one word of sixty: Jaccard about 0.9
    texts = base + [edited, base[20].upper(), "  " + base[40].replace(" ", "\n")]
    clusters = dedup.near_duplicates(texts, threshold=0.8)
    assert [(c.kept, c.dropped, c.kind) for c in clusters] == [(7, (300,), "near"), (20, (301,), "exact"), (40, (302,), "exact")]


def test_minhash_agreement_estimates_jaccard():
    rng = random.Random(1)
    hasher = dedup.MinHasher(num_perm=256)
    for keep in (10, 30, 50):
        words = sentence(rng, 60).split()
        other = words[:keep] + sentence(rng, 60 - keep).split()
        a, b = set(hasher.shingles(" ".join(words))), set(hasher.shingles(" ".join(other)))
        jaccard = len(a & b) / len(a | b)
        sig = hasher.signatures([" ".join(words), " ".join(other)])
        assert abs((sig[0] == sig[1]).mean() - jaccard) < 0.1, (keep, jaccard)


def test_signatures_do_not_depend_on_the_batch():
    rng = random.Random(2)
    texts = [sentence(rng, n) for n in (1, 2, 5, 200, 3000)]
    hasher = dedup.MinHasher()
    whole = hasher.signatures(texts, chunk=64)  # forces several chunks
    assert np.array_equal(whole, np.vstack([hasher.signatures([t]) for t in texts]))


def test_lsh_compares_few_pairs_yet_finds_every_planted_copy():
    rng = random.Random(3)
    texts = [sentence(rng) for _ in range(2000)]
    copies = {i: len(texts) + k for k, i in enumerate(range(0, 2000, 100))}
    for i in copies:
        words = texts[i].split()
        texts.append(" ".join(words[:-2] + ["x", "y"]))  # two words of sixty changed
    sig = dedup.MinHasher().signatures(texts)
    candidates = dedup.candidate_pairs(sig, 0.8)
    all_pairs = len(texts) * (len(texts) - 1) // 2
    assert len(candidates) < all_pairs / 1000
    assert {(int(i), int(j)) for i, j in dedup.similar_pairs(sig, 0.8)} == set(copies.items())


def test_dedup_keeps_the_first_of_each_cluster():
    a, b = example("What is the zoning of parcel 7?"), example("Is parcel 9 in a flood zone?")
    data = [a, b, example("what is the ZONING of parcel 7?"), a]
    result = dedup.dedup(data, threshold=None)
    assert result.kept == [a, b] and result.dropped == [2, 3]
    assert dedup.dedup([a, b], threshold=0.8).clusters == []


def planted(rng, n=200):
    """Examples about n/2 entities; some entities have two conversations, some examples have a near-copy."""
    data, entity = [], []
    for i in range(n):
        parcel = i // 2 if i % 5 == 0 else 1000 + i
        text = f"Summarise parcel {parcel}. " + sentence(rng, 40)
        data.append(example(text, sentence(rng, 30)))
        entity.append(parcel)
        if i % 7 == 0:
            data.append(example(text.upper(), data[-1]["messages"][1]["content"] + "  "))
            entity.append(parcel)
    return data, entity


def parcel_of(e):
    import re
    return int(re.search(r"parcel (\d+)", e["messages"][0]["content"], re.I).group(1))


def test_splits_cover_every_example_once_in_about_the_asked_shares():
    data, _ = planted(random.Random(4))
    s = splits.split(data, (0.8, 0.1, 0.1), seed=0, entity=parcel_of)
    every = sorted(i for part in s.indices.values() for i in part)
    assert every == list(range(len(data)))
    for name, share in zip(["train", "validation", "test"], (0.8, 0.1, 0.1)):
        assert abs(len(s.indices[name]) / len(data) - share) < 0.05
        assert getattr(s, name) == [data[i] for i in s.indices[name]]


def test_splits_are_seeded():
    data, _ = planted(random.Random(5))
    assert splits.split(data, seed=1).indices == splits.split(data, seed=1).indices
    assert splits.split(data, seed=1).indices != splits.split(data, seed=2).indices


def test_no_near_duplicate_or_entity_straddles_splits():
    data, _ = planted(random.Random(6))
    s = splits.split(data, seed=0, entity=parcel_of)
    for a, b in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        leak = splits.leakage(getattr(s, a), getattr(s, b), entity=parcel_of)
        assert leak.ok, f"{a}/{b}: {leak}"


def test_a_plain_random_split_leaks_and_the_check_says_how():
    data, _ = planted(random.Random(7))
    order = list(range(len(data)))
    random.Random(0).shuffle(order)
    cut = int(0.8 * len(data))
    train, test = [data[i] for i in order[:cut]], [data[i] for i in order[cut:]]
    leak = splits.leakage(train, test, entity=parcel_of)
    assert not leak.ok and leak.clusters and leak.entities
    for i, j in leak.pairs():
        assert dedup.normalize(dedup.conversation_text(train[i])) == dedup.normalize(dedup.conversation_text(test[j]))
    assert "Leakage" in str(leak)


def test_leakage_sees_entities_even_when_texts_differ():
    a = [example("Summarise parcel 12 for a buyer.")]
    b = [example("Parcel 12: is it buildable? Tell me everything about slope.")]
    assert splits.leakage(a, b).ok
    leak = splits.leakage(a, b, entity=parcel_of)
    assert leak.entities == [12] and not leak.ok


def test_bad_fractions_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        splits.split([example("a")], (0.8, 0.1, 0.2))
