"""Token counts: the fast batch path equals apply_chat_template's assistant mask, and budgets add up."""
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from command import ftcourse
from ftcourse import chat, tokens

CHATML = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}<|im_end|>{% endgeneration %}"
    "{% else %}{{ m['content'] }}<|im_end|>{% endif %}\n{% endfor %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    """A byte-level BPE tokenizer trained in a blink, with a ChatML template that marks assistant spans."""
    text = ["Parcel 4412 is zoned R-2, flood zone X, 3.2 acres of loam with paved road access.",
            "Buyer summary: suitable for residential development; price $185,000.", "héllo wörld — ünïcode ✓"] * 50
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(text, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "<|im_start|>", "<|im_end|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="<|im_end|>", unk_token="<unk>", model_max_length=64)
    tok.chat_template = CHATML
    return tok


def m(role, content, **kw):
    return {"role": role, "content": content, **kw}


CONVERSATIONS = [
    [m("user", "Summarise parcel 4412."), m("assistant", "**Parcel 4412 — Buyer Summary**\n- Zoning: R-2")],
    [m("system", "You are LandAI's report writer."), m("user", "hi"), m("assistant", " leading and trailing spaces  ")],
    [m("user", "q1"), m("assistant", "a1"), m("user", "q2"), m("assistant", "second answer, longer")],
    [m("user", "q1"), m("assistant", "not trained", weight=0), m("user", "q2"), m("assistant", "trained", weight=1)],
    [m("user", "héllo wörld ✓ 🙂"), m("assistant", "ünïcode\n\n\nnewlines\t\ttabs")],
    [m("user", "say <|im_end|> please"), m("assistant", "<|im_end|> inside an answer <|im_start|>")],
    [m("user", "x"), m("assistant", "\n")],
]


@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_fast_count_equals_the_assistant_mask_of_apply_chat_template(tokenizer, conversation):
    (fast,) = tokens.count(tokenizer, [conversation])
    assert fast == tokens.reference_count(tokenizer, conversation)


def test_the_reference_is_the_template_mask(tokenizer):
    conversation = CONVERSATIONS[0]
    out = tokenizer.apply_chat_template(conversation, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ref = tokens.reference_count(tokenizer, conversation)
    assert ref.total == len(out["input_ids"]) and ref.trained == sum(out["assistant_masks"]) > 0
    # the trained tokens are exactly the answer and its end marker
    answer = tokenizer(conversation[1]["content"] + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert ref.trained == len(answer)


def test_weight_zero_turns_are_not_trained(tokenizer):
    weighted, plain = CONVERSATIONS[3], [{k: v for k, v in t.items() if k != "weight"} for t in CONVERSATIONS[3]]
    (w,), (p,) = tokens.count(tokenizer, [weighted]), tokens.count(tokenizer, [plain])
    assert w.total == p.total and 0 < w.trained < p.trained


def test_a_batch_counts_like_one_at_a_time(tokenizer):
    assert tokens.count(tokenizer, CONVERSATIONS) == [tokens.count(tokenizer, [c])[0] for c in CONVERSATIONS]


def test_without_generation_marks_only_totals_are_known(tokenizer):
    plain = tokenizer.__class__(tokenizer_object=tokenizer.backend_tokenizer, bos_token="<s>", eos_token="<|im_end|>")
    plain.chat_template = CHATML.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    counts = tokens.count(plain, CONVERSATIONS)
    assert [c.trained for c in counts] == [None] * len(CONVERSATIONS)
    assert [c.total for c in counts] == [c.total for c in tokens.count(tokenizer, CONVERSATIONS)]
    assert tokens.reference_count(plain, CONVERSATIONS[0]).trained is None


def test_no_template_is_a_clear_error(tokenizer):
    bare = tokenizer.__class__(tokenizer_object=tokenizer.backend_tokenizer)
    with pytest.raises(ValueError, match="no chat template"):
        tokens.count(bare, CONVERSATIONS)


def test_budget_totals_and_cost(tokenizer):
    examples = [{"messages": c} for c in CONVERSATIONS] * 3
    b = tokens.budget(tokenizer, examples, epochs=2, price_per_million=8.0, batch_size=4)
    counts = tokens.count(tokenizer, CONVERSATIONS) * 3
    assert b.table["total"].tolist() == [c.total for c in counts]
    assert b.table["trained"].tolist() == [c.trained for c in counts]
    assert b.context == 64 and b.over_context == [i for i, c in enumerate(counts) if c.total > 64]
    billed = sum(min(c.total, 64) for c in counts) * 2
    assert b.billed_tokens == billed and b.cost == pytest.approx(billed / 1e6 * 8.0)
    s = b.summary()
    assert s["total tokens"] == sum(c.total for c in counts) and s["trained tokens"] == sum(c.trained for c in counts)


def test_counter_plugs_into_the_validator(tmp_path, tokenizer):
    import json

    from ftcourse import chat

    path = tmp_path / "d.jsonl"
    long = [m("user", "Parcel 4412 is zoned R-2 " * 20), m("assistant", "ok")]
    path.write_text("\n".join(json.dumps({"messages": c}) for c in [CONVERSATIONS[0], long]) + "\n")
    report = chat.validate_file(path, count_tokens=tokens.counter(tokenizer), max_tokens=tokens.context_length(tokenizer))
    assert [(p.line, p.code) for p in report.problems] == [(2, "too_long")]


def test_cli_checks_lengths_with_a_tokenizer(tmp_path, tokenizer):
    import json
    
    tokenizer.save_pretrained(tmp_path / "tok")
    valid = CONVERSATIONS[:-1]  # the last one's answer is only whitespace: an error to the validator
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"messages": c}) for c in valid) + "\n")
    limit = sorted(c.total for c in tokens.count(tokenizer, valid))[-3]
    result = ftcourse("data", "validate", str(data), "--tokenizer", str(tmp_path / "tok"), "--max-tokens", str(limit), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    over = [i + 1 for i, c in enumerate(tokens.count(tokenizer, valid)) if c.total > limit]
    assert [p["line"] for p in report["problems"]] == over and {p["code"] for p in report["problems"]} == {"too_long"}
    assert report["token_check"] == f"checked against a context of {limit:,} tokens"


def test_the_validator_counts_with_the_course_tokenizer_by_default(tmp_path):
    import json

    from ftcourse import chat

    course = tokens.load_tokenizer()
    context = tokens.context_length(course)
    fits, long = CONVERSATIONS[0], [m("user", "Parcel 4412 is zoned R-2. " * context), m("assistant", "ok")]
    assert tokens.count(course, [long])[0].total > context >= tokens.count(course, [fits])[0].total
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"messages": c}) for c in [fits, long]) + "\n")
    report = chat.validate_file(path)
    assert [(p.line, p.code) for p in report.problems] == [(2, "too_long")]
    assert report.token_check == f"checked against a context of {context:,} tokens"
    skipped = chat.validate_file(path, tokenizer=None)
    assert skipped.problems == [] and skipped.token_check.startswith("not checked")
    assert chat.validate_file(path, tokenizer=course, max_tokens=10**6).problems == []


def test_a_text_too_long_for_any_tokenization_is_not_tokenized(tokenizer):
    widest = tokens.longest_token(tokenizer)
    limit = 40
    huge = [m("user", "R-2 zoning, paved road. " * (limit * widest // 10)), m("assistant", "ok")]
    short = CONVERSATIONS[0]
    bound, exact = tokens.counter(tokenizer, limit=limit)([huge, short])
    assert exact == tokens.count(tokenizer, [short])[0].total
    assert limit < bound <= tokens.count(tokenizer, [huge])[0].total  # a true lower bound, and over the limit
    assert type(bound) is chat.AtLeast and type(exact) is int  # the report says "at least" for the bound only


def test_the_report_says_at_least_only_for_a_bound(tmp_path, tokenizer):
    import json

    widest = tokens.longest_token(tokenizer)
    limit = 40
    huge = [m("user", "R-2 zoning, paved road. " * (limit * widest // 10)), m("assistant", "ok")]
    long = [m("user", "x " * limit), m("assistant", "ok")]  # over the limit in tokens, not in characters
    assert limit < tokens.count(tokenizer, [long])[0].total and 2 * limit + 2 <= limit * widest
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"messages": c}) for c in [huge, long]) + "\n")
    report = chat.validate_file(path, count_tokens=tokens.counter(tokenizer, limit=limit), max_tokens=limit)
    (bound, exact) = report.problems
    assert "is at least" in bound.message
    assert f"is {tokens.count(tokenizer, [long])[0].total:,} tokens" in exact.message


def test_counting_tokens_keeps_the_validator_streaming(tmp_path):
    import json
    import tracemalloc

    from ftcourse import chat

    course = tokens.load_tokenizer()
    line = json.dumps({"messages": [m("user", "Summarise parcel 4412 for a buyer, please. " * 12), m("assistant", "Zoned R-2. " * 40)]})

    def peak(lines: int) -> tuple[int, int]:
        path = tmp_path / f"{lines}.jsonl"
        path.write_text((line + "\n") * lines)
        chat.validate_file(path, tokenizer=course, batch_size=64)  # compiles the template, warms caches
        tracemalloc.start()
        report = chat.validate_file(path, tokenizer=course, batch_size=64)
        held = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert report.examples == lines and report.token_check.startswith("checked")
        return held, path.stat().st_size

    (small, small_size), (large, large_size) = peak(500), peak(2500)
    grown = large_size - small_size
    assert large - small < grown / 20, f"memory grew by {large - small:,} bytes for a file {grown:,} bytes longer: it should hold one batch, not the file"


def test_cli_checks_lengths_with_the_course_tokenizer_unless_told_not_to(tmp_path):
    import json

    context = tokens.context_length(tokens.load_tokenizer())
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [m("user", "Parcel 4412 is zoned R-2. " * context), m("assistant", "ok")]}) + "\n")

    def validate(*options):
        return ftcourse("data", "validate", str(data), "--json", *options)

    checked = validate()
    assert checked.returncode == 0, checked.stderr
    assert [p["code"] for p in json.loads(checked.stdout)["problems"]] == ["too_long"]
    skipped = validate("--no-token-check")
    assert skipped.returncode == 0 and json.loads(skipped.stdout)["problems"] == []
    missing = validate("--tokenizer", str(tmp_path / "no-such-tokenizer"))
    assert missing.returncode == 2 and "cannot load tokenizer" in missing.stderr and missing.stdout == ""


def test_without_the_course_tokenizer_the_validator_still_validates(tmp_path, monkeypatch):
    import json

    from ftcourse import chat

    def missing(name="course-base"):
        raise OSError(f"no tokenizer files for {name}")

    from ftcourse import lengths

    monkeypatch.setattr(tokens, "load_tokenizer", missing)
    monkeypatch.setattr(lengths, "COURSE_TOKENIZER_DIR", tmp_path / "no-course-tokenizer")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"messages": CONVERSATIONS[0]}) + "\noops\n")
    report = chat.validate_file(path)
    assert [(p.line, p.code) for p in report.problems] == [(2, "not_json")] and report.examples == 1
    assert report.token_check.startswith("not checked (the course tokenizer could not be loaded: no tokenizer files")
    with pytest.raises(OSError):
        chat.validate_file(path, tokenizer=str(tmp_path / "elsewhere"))


def test_counting_with_tokenizers_alone_matches_the_definition(tmp_path, tokenizer):
    from ftcourse import lengths
    from ftcourse.world import messy

    course = tokens.load_tokenizer()
    examples = [e["messages"] for e in chat.read_examples(messy.path("messy"), tokenizer=None)[0]]
    assert lengths.TokenLengths(lengths.COURSE_TOKENIZER_DIR)(examples) == [c.total for c in tokens.count(course, examples)]
    assert lengths.TokenLengths(lengths.COURSE_TOKENIZER_DIR).context == tokens.context_length(course)
    tokenizer.save_pretrained(tmp_path / "tok")
    assert lengths.TokenLengths(tmp_path / "tok")(CONVERSATIONS[:-1]) == [c.total for c in tokens.count(tokenizer, CONVERSATIONS[:-1])]


def test_validating_a_file_imports_neither_torch_nor_transformers(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"messages": CONVERSATIONS[0]}) + "\n")
    probe = ("import sys; from ftcourse.cli import main; code = main(['data', 'validate', sys.argv[1]]); "
             "print(code, 'torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "0 False False", result.stdout + result.stderr
    assert "token lengths checked against a context of" in result.stdout
