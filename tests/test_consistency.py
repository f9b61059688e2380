"""The consistency report measures formats, flags the odd ones out, and finds conflicts and drift."""
from ftcourse import consistency

FIELDS = ["Zoning", "Flood risk", "Verdict"]
CANON = "**Parcel {n} — Buyer Summary**\n- Zoning: R-{z}\n- Flood risk: low (zone X)\n- Verdict: suitable for homes."
PROSE = "Parcel {n} is zoned R-{z} and sits in flood zone X, so it suits homes.\n\nBest,\nDana"
HEADED = "## Parcel {n}\n\n**Zoning:** R-{z}\n**Flood risk:** low\n**Verdict:** homes\n\nHope this helps!"


def ex(answer, prompt="Summarise parcel {n}.", system="You are LandAI's report writer.", **fmt):
    messages = [{"role": "system", "content": system}] if system else []
    return {"messages": messages + [{"role": "user", "content": prompt.format(**fmt)}, {"role": "assistant", "content": answer.format(**fmt)}]}


def test_features_of_three_formats():
    canon = consistency.features(CANON.format(n=1, z=2), FIELDS)
    assert canon == {"heading": True, "bullets": 3, "labels": 3, "bold": 1, "sign_off": False, "lines": 4,
                     "words": len(CANON.format(n=1, z=2).split()), "fields": 1.0, "layout": True}
    prose = consistency.features(PROSE.format(n=1, z=2), FIELDS)
    assert (prose["heading"], prose["bullets"], prose["labels"], prose["sign_off"], prose["fields"], prose["layout"]) == (False, 0, 0, True, 0.0, False)
    headed = consistency.features(HEADED.format(n=1, z=2), FIELDS)
    assert (headed["heading"], headed["bullets"], headed["labels"], headed["bold"], headed["sign_off"], headed["fields"]) == (True, 0, 3, 3, True, 1.0)
    assert [consistency.format_name(f) for f in (canon, prose, headed)] == ["heading+bullets+labels", "prose+sign-off", "heading+labels+sign-off"]


def test_layout_needs_every_field_in_order_and_nothing_else():
    swapped = "**P**\n- Flood risk: low\n- Zoning: R-1\n- Verdict: ok"
    extra = CANON.format(n=1, z=1) + "\n- Notes: none"
    assert not consistency.features(swapped, FIELDS)["layout"] and consistency.features(swapped, FIELDS)["fields"] == 1.0
    assert not consistency.features(extra, FIELDS)["layout"]
    assert consistency.labels("- **Price:** $5\nPlain line: with colon\nno label here") == ["Price", "Plain line"]


def test_report_counts_formats_and_flags_the_minority():
    data = [ex(CANON, n=i, z=i % 3 + 1) for i in range(20)] + [ex(PROSE, n=50, z=1), ex(HEADED, n=51, z=2)]
    r = consistency.report(data, required=FIELDS)
    assert r.formats.to_dict() == {"heading+bullets+labels": 20, "prose+sign-off": 1, "heading+labels+sign-off": 1}
    assert sorted(r.outliers["example"]) == [20, 21]
    assert all("format" in why for why in r.outliers["reason"])
    s = r.summary()
    assert s["majority format"] == "heading+bullets+labels" and s["share in majority format"] == 20 / 22
    spread = r.spread()
    assert spread.loc["layout", "mean"] == 21 / 22  # the headed answer has every label, in order: only its format differs
    assert spread.loc["bullets", "max"] == 3


def test_an_overlong_answer_is_an_outlier_by_length():
    data = [ex(CANON, n=i, z=1) for i in range(20)]
    data.append(ex(CANON + "\n- Verdict: " + "very " * 200 + "long", n=99, z=1))
    r = consistency.report(data)
    (why,) = r.outliers["reason"]
    assert r.outliers["example"].tolist() == [20] and why.startswith("length")


def test_conflicting_answers_to_the_same_prompt():
    data = [ex(CANON, n=1, z=1), ex(PROSE, n=1, z=1), ex(CANON, n=2, z=1), ex(CANON, n=2, z=1), ex(CANON, n=3, z=1)]
    (conflict,) = consistency.report(data).conflicts
    assert conflict.examples == (0, 1) and conflict.answers == 2


def test_system_prompt_drift_is_counted():
    data = [ex(CANON, n=i, z=1) for i in range(6)]
    data += [ex(CANON, n=7, z=1, system="You are LandAI's report-writer!"), ex(CANON, n=8, z=1, system=None),
             ex(CANON, n=9, z=1, system="  you are landai's REPORT writer. ")]
    r = consistency.report(data)
    assert r.system_prompts.to_dict() == {"you are landai's report writer.": 7, "you are landai's report-writer!": 1, "(none)": 1}
    assert r.summary()["system prompts"] == 2 and r.summary()["examples without a system prompt"] == 1


def test_empty_data_gives_an_empty_report():
    r = consistency.report([])
    assert r.features.empty and r.outliers.empty and r.conflicts == [] and r.summary()["assistant turns"] == 0


def test_a_small_consistent_set_has_no_length_outliers():
    data = [ex(CANON + (" extra" if i == 4 else ""), n=i, z=1) for i in range(5)]  # four equal lengths, one a word longer
    assert consistency.report(data).outliers.empty
