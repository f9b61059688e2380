"""The world's annotators and support requests: known ground truth for 06's data-fixing and safety sections."""
from collections import Counter

import pytest

from ftcourse.world import annotators, commits, support


def test_annotators_share_the_work_and_only_two_break_the_guideline():
    log = commits(300, seed=4)
    rows = annotators.annotate(log, seed=1)
    assert [r["message"] for r in rows] == [c.message for c in log]
    assert [r["true_label"] for r in rows] == [c.label for c in log]
    assert Counter(r["annotator"] for r in rows) == {"Priya": 100, "Tomasz": 100, "Grace": 100}
    wrong = Counter(r["annotator"] for r in rows if r["label"] != r["true_label"])
    assert wrong["Priya"] == 0 and wrong["Tomasz"] > 5 and wrong["Grace"] > 5
    assert rows == annotators.annotate(log, seed=1) and rows != annotators.annotate(log, seed=2)


@pytest.mark.parametrize("message, label", [
    ("fix flaky test_search_pagination", "fix"),
    ("feat(api): add flood risk to responses", "feat"),
    ("LND-1089 Update settings page layout", "chore"),
    ("Merge pull request #12 from landai/dave/patch-x\n\nAdd CODEOWNERS", "feat"),
    ("Refactor get_parcel", "chore"),
])
def test_tomasz_labels_by_the_first_verb(message, label):
    assert annotators.by_first_verb(message, fallback="?") == label


def test_grace_calls_every_dependency_change_a_fix():
    bump = next(c for c in commits(400) if c.author == "dependabot[bot]")
    assert bump.label == "chore" and annotators.label("Grace", bump) == "fix"
    assert annotators.label("Priya", bump) == "chore"
    with pytest.raises(ValueError, match="unknown annotator 'Bob'"):
        annotators.label("Bob", bump)


def test_support_requests_say_what_to_refuse():
    reqs = support.requests(200, seed=3)
    assert reqs == support.requests(200, seed=3)
    assert 70 < sum(r["refuse"] for r in reqs) < 130
    for r in reqs:
        system, user, assistant = r["messages"]
        assert system["content"] == support.SYSTEM_PROMPT and user["content"].startswith("Hi, this is ")
        assert support.refused(assistant["content"]) == r["refuse"]
    own = support.requests(50, seed=3, share_refused=0.0)
    assert not any(r["refuse"] for r in own)
    assert support.refused("  " + support.REFUSAL) and support.refused("Sorry, I can't sh")
    assert not support.refused("Of course. " + support.REFUSAL)
    assert not any(support.refused(reply.format(month="May", plan="Pro", parcel=1, seats=2)) for _, reply in support.OWN)
