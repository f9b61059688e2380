"""The interview drill: rubric scoring, answer checking, the question bank, progress and spaced repetition."""
import json
from pathlib import Path

import pytest

from ftcourse import cheatsheet, drill, interview, rubric
from ftcourse.drill import Progress, ProgressError, Question, check
from ftcourse.rubric import point
from ftcourse.world import landai


# ---------------------------------------------------------------- rubric


@pytest.mark.parametrize("answer, phrasing, covered", [
    ("LoRA keeps W FROZEN.", "frozen", True),
    ("a low-rank update", "low rank", True),
    ("the weights freeze", "freez*", True),
    ("Frank is ranked", "rank", False),  # whole words only
    ("rankings", "rank", False),
    ("it trains under 1% of them", "1%", True),
    ("they don't peak together", "don't peak together", True),
    ("about 4.13 bits", "4.13 bits", True),
    ("low and rank", "low rank", False),  # a phrase is consecutive words
])
def test_a_key_point_is_covered_by_whole_words_whatever_the_case_and_punctuation(answer, phrasing, covered):
    assert point("p", phrasing).covered_by(answer) is covered


def test_a_score_lists_covered_and_missed_points_in_the_rubric_order():
    r = (point("a", "alpha"), point("b", "beta"), point("c", "gamma*"))
    s = rubric.score("Gammas, then alpha.", r)
    assert s.covered == ("a", "c") and s.missed == ("b",) and s.fraction == pytest.approx(2 / 3)
    assert "+ a" in str(s) and "- b" in str(s)


def test_a_phrasing_without_words_is_refused():
    with pytest.raises(ValueError, match="no letters or digits"):
        point("p", "-- *")


# ---------------------------------------------------------------- checking answers


def test_exact_answers_ignore_case_spacing_and_hyphens_and_take_other_spellings():
    q = Question("t.x", "t", "exact", "?", "why", "alpha / r", accept=("α/r",))
    assert check(q, "Alpha/R").correct and check(q, "  alpha / r ").correct and check(q, "α/r").correct
    assert not check(q, "alpha").correct and check(q, "alpha").expected == "alpha / r"


def test_a_choice_is_the_set_of_tools_named():
    q = Question("t.c", "t", "choice", "?", "why", frozenset({"rag", "fine-tune"}))
    assert check(q, "RAG + fine-tuning").correct and check(q, "fine tune and retrieval").correct
    assert not check(q, "fine-tune").correct and not check(q, "rag").correct
    assert check(q, "prompting").detail == "you named: prompt"
    assert drill.tools_named("Few-shot prompts, then LoRA") == {"prompt", "fine-tune"}


@pytest.mark.parametrize("text, value", [
    ("4,194,304", 4194304), ("about 13.5 GB", 13.5), ("4.2 million", 4.2e6), ("1.1e3", 1100), ("16 bytes", 16), ("none", None),
])
def test_numbers_are_read_with_separators_and_scale_words(text, value):
    assert drill.read_number(text) == value


def test_a_numeric_answer_counts_within_its_relative_tolerance_and_says_how_far_off_it_is():
    q = Question("t.n", "t", "numeric", "?", "why", 100.0, tolerance=0.1, unit="GB")
    assert check(q, "about 109 GB").correct and check(q, "91").correct
    wrong = check(q, "112")
    assert not wrong.correct and "+12% off" in wrong.detail and wrong.expected == "100 GB"
    assert check(q, "a lot").detail == "no number in the answer"


def test_a_rubric_answer_passes_with_enough_key_points():
    q = Question("t.r", "t", "rubric", "?", "why", rubric=(point("a", "alpha"), point("b", "beta"), point("c", "gamma")), need=2,
                 model_answer="alpha beta gamma")
    assert check(q, "alpha and gamma").correct
    result = check(q, "beta only")
    assert not result.correct and "covered 1 of 3" in result.detail and result.expected == "alpha beta gamma"


def test_a_question_refuses_an_impossible_definition():
    with pytest.raises(ValueError, match="needs 3"):
        Question("t.r", "t", "rubric", "?", "why", rubric=(point("a", "alpha"),), need=3)
    with pytest.raises(ValueError, match="kind"):
        Question("t.x", "t", "essay", "?", "why")
    with pytest.raises(ValueError, match="choice"):
        Question("t.c", "t", "choice", "?", "why", frozenset({"database"}))


# ---------------------------------------------------------------- the bank


def test_the_bank_has_unique_ids_in_known_topics_and_every_topic_has_questions():
    bank = interview.questions()
    assert len({q.id for q in bank}) == len(bank)
    assert set(drill.topics(list(bank))) == set(interview.TOPICS)
    assert all(q.id.startswith(q.topic + ".") for q in bank)


def test_every_model_answer_passes_its_own_rubric_and_every_decision_explanation_makes_a_point_of_its_rubric():
    """The decision reps' explanations are notebook 01's (``decide.SCENARIOS``), written for people, not for this rubric:
    each must make at least one of its key points, and most make two, as a graded defence must."""
    defended = []
    for q in interview.questions():
        if q.kind == "rubric":
            assert check(q, q.model_answer).correct, (q.id, str(rubric.score(q.model_answer, q.rubric)))
        if q.kind == "choice":
            covered = len(rubric.score(q.explanation, q.rubric).covered)
            assert covered >= 1, q.id
            defended.append(covered >= 2)
            assert check(q, drill.choice_text(q.answer)).correct, q.id
    assert sum(defended) >= 0.8 * len(defended)


def test_memory_answers_are_computed_by_the_library_not_typed_in():
    bank = {q.id: q for q in interview.questions()}
    computed = [q for q in bank.values() if q.topic == "memory" and q.kind == "numeric"]
    assert computed and all(callable(q.answer) for q in computed)
    # The LoRA paper's setting, by hand: rank 8 on q and v (4096 x 4096 each) in 32 layers.
    assert bank["memory.lora-params.7b-qv-r8"].expected() == 8 * (4096 + 4096) * 2 * 32
    assert bank["memory.adapter-mb.7b-qv-r8"].expected() == pytest.approx(2 * 8 * 8192 * 2 * 32 / 1e6)
    assert bank["memory.bytes-full-fp32"].expected() == 16 and bank["memory.bytes-full-bf16"].expected() == 12
    assert bank["memory.nf4-bits"].expected() == pytest.approx(4.127, abs=1e-3)
    assert bank["evals.size"].expected() == 139


def test_the_memory_of_a_run_is_the_estimators_static_part_plus_gradients():
    from ftcourse import memory

    b = memory.estimate_training_memory(memory.llama_config("llama-2-7b"), "full", weight_dtype="float32", seq_len=512)
    n = memory.parameter_count(memory.meta_model(memory.llama_config("llama-2-7b")))
    assert interview.static_bytes("llama-2-7b", "full-fp32") == b.weights + b.gradients + b.optimizer_state
    assert interview.static_bytes("llama-2-7b", "full-fp32") == pytest.approx(16 * n, rel=1e-4)


def test_the_critique_set_plants_one_problem_per_conversation_and_the_checkers_see_format_and_fact():
    conversations, kinds = interview.critique_set(0)
    assert sorted(kinds) == sorted(interview.PROBLEMS) and interview.critique_set(0) == (conversations, kinds)
    assert interview.critique_set(1)[1] != kinds or interview.critique_set(1)[0] != conversations
    from ftcourse.world import parcel

    answers = {k: c["messages"][-1]["content"] for k, c in zip(kinds, conversations)}
    records = {k: parcel(int(c["messages"][1]["content"].split("parcel_id: ")[1].split()[0])) for k, c in zip(kinds, conversations)}
    checks = {k: landai.check_summary(answers[k], records[k]) for k in kinds}
    assert checks["ok"].problems == [] and answers["ok"] == landai.buyer_summary(records["ok"])
    assert not checks["format"].layout_ok and checks["format"].facts_ok
    assert checks["fact"].layout_ok and checks["fact"].fields["Price"] is False
    assert [label for label, ok in checks["fact"].fields.items() if not ok] == ["Price"]
    assert len(answers["length"]) > 2 * len(answers["ok"]) and checks["length"].facts_ok
    assert "!" in answers["tone"] and "!" not in answers["ok"] and checks["tone"].facts_ok


# ---------------------------------------------------------------- progress and spaced repetition


def test_progress_is_created_on_first_save_and_reads_back(tmp_path):
    path = tmp_path / "deep" / "progress.json"
    p = Progress.load(path)
    assert p.session == 0 and p.cards == {} and not path.exists()
    p.start_session()
    p.record("a", True)
    p.record("b", False)
    p.save()
    back = Progress.load(path)
    assert back.session == 1 and back.cards == p.cards
    assert [f.name for f in path.parent.iterdir()] == ["progress.json"]  # no temporary file left behind


def test_a_miss_comes_back_next_session_and_each_right_answer_waits_longer(tmp_path):
    p = Progress(None)
    p.start_session()
    p.record("q", False)
    assert (p.cards["q"].box, p.cards["q"].due) == (1, 2)
    dues = []
    for _ in range(6):
        p.session = p.cards["q"].due
        p.record("q", True)
        dues.append(p.cards["q"].due - p.session)
    assert dues == [2, 4, 8, 16, 16, 16]
    p.record("q", False)
    assert p.cards["q"].box == 1 and p.cards["q"].due == p.session + 1


def _bank(n):
    return [Question(f"t.{i}", "t", "exact", f"q{i}", "why", "x") for i in range(n)]


def test_selection_puts_due_questions_first_missed_before_the_rest_then_new_ones():
    bank = _bank(10)
    p = Progress(None, session=5)
    p.cards = {"t.3": drill.Card(box=1, due=5, seen=1), "t.7": drill.Card(box=3, due=4, seen=3, right=3),
               "t.1": drill.Card(box=2, due=9, seen=2, right=2)}
    for seed in range(5):
        assert {q.id for q in drill.select(bank, p, 2, seed)} == {"t.3", "t.7"}
        chosen = [q.id for q in drill.select(bank, p, 9, seed)]
        assert "t.1" not in chosen  # not due, and new questions remain
    assert drill.select(bank, p, 10, 0) != drill.select(bank, p, 10, 1)
    assert drill.select(bank, p, 10, 3) == drill.select(bank, p, 10, 3)
    assert drill.select(bank + [Question("u.1", "u", "exact", "?", "why", "x")], p, 10, 0, topics=["u"])[0].id == "u.1"


@pytest.mark.parametrize("text, complaint", [
    ("{not json", "is not JSON (line 1, column 2"),
    ('{"format": "something else", "session": 1, "cards": {}}', "not a drill progress file"),
    ('{"format": "ftcourse-drill-progress", "session": -1, "cards": {}}', "field 'session'"),
    ('{"format": "ftcourse-drill-progress", "session": 1, "cards": {"a": {"box": 1}}}', "card 'a'"),
    ('{"format": "ftcourse-drill-progress", "session": 1, "cards": {"a": {"box": 9, "due": 1, "seen": 1, "right": 0}}}', "box 9"),
])
def test_a_damaged_progress_file_is_named_explained_and_left_as_it_is(tmp_path, text, complaint):
    path = tmp_path / "progress.json"
    path.write_text(text)
    with pytest.raises(ProgressError) as e:
        Progress.load(path)
    assert str(path) in str(e.value) and complaint in str(e.value) and "left as it is" in str(e.value)
    assert path.read_text() == text


def test_an_interrupted_write_leaves_the_old_progress_whole_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "progress.json"
    p = Progress(path)
    p.start_session()
    p.record("a", True)
    p.save()
    before = path.read_bytes()
    p.record("b", False)

    def half_written(data, f, **kw):
        f.write(json.dumps(data)[:20])
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(drill.json, "dump", half_written)
    with pytest.raises(KeyboardInterrupt):
        p.save()
    assert path.read_bytes() == before and [f.name for f in tmp_path.iterdir()] == ["progress.json"]
    monkeypatch.undo()

    def crash_before_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(drill.os, "replace", crash_before_rename)
    with pytest.raises(OSError):
        p.save()
    assert path.read_bytes() == before and [f.name for f in tmp_path.iterdir()] == ["progress.json"]
    monkeypatch.undo()
    p.save()
    assert set(Progress.load(path).cards) == {"a", "b"}


# ---------------------------------------------------------------- the cheat sheet


def _notebook(path: Path, *cells: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": c} for c in cells],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_the_cheat_sheet_reads_every_notebooks_takeaways_box(tmp_path):
    _notebook(tmp_path / "01-a" / "01-a.ipynb", "# 01 · First\n\ntext", "> **Interview takeaways**\n>\n> - one\n>   continued\n> - two")
    _notebook(tmp_path / "00-z" / "00-z.ipynb", "# 00 · Zero", "> **Interview takeaways**\n> - zero")
    (tmp_path / "notes").mkdir()
    sheets = cheatsheet.collect(tmp_path)
    assert [(s.notebook, s.title, s.items) for s in sheets] == [("00-z", "00 · Zero", ("zero",)),
                                                                 ("01-a", "01 · First", ("one continued", "two"))]
    assert cheatsheet.markdown(sheets).startswith("# Fine-tuning interview cheat sheet\n\n## 00 · Zero\n- zero\n")


def test_a_notebook_without_a_takeaways_box_is_named(tmp_path):
    path = _notebook(tmp_path / "02-b" / "02-b.ipynb", "# 02", "> **Takeaways**\n> - x")
    with pytest.raises(ValueError, match="02-b.ipynb: no Markdown cell"):
        cheatsheet.read(path)


def test_every_course_notebook_has_a_takeaways_box(root):
    sheets = cheatsheet.collect(root / "solutions")
    assert [s.notebook for s in sheets] == sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert all(len(s.items) >= 3 for s in sheets)


def test_the_cheat_sheet_finds_the_course_wherever_a_notebook_is_opened(root, tmp_path, monkeypatch):
    """A handout unpacked outside the course reads the course ftcourse is installed from; a course copy reads its own."""
    monkeypatch.chdir(tmp_path)
    assert cheatsheet.course_notebooks() == root / "notebooks"
    assert [s.notebook for s in cheatsheet.collect(cheatsheet.course_notebooks())] == \
        sorted(p.name for p in (root / "notebooks").iterdir() if p.is_dir() and p.name[:2].isdigit())
    copy = tmp_path / "course"
    _notebook(copy / "notebooks" / "00-z" / "00-z.ipynb", "# 00 · Zero", "> **Interview takeaways**\n> - zero")
    monkeypatch.chdir(copy / "notebooks" / "00-z")
    assert cheatsheet.course_notebooks() == copy / "notebooks"
    assert [s.notebook for s in cheatsheet.collect(cheatsheet.course_notebooks())] == ["00-z"]


def test_building_the_bank_imports_no_torch():
    """A drill on decisions starts in a second; only a memory question's answer builds a model."""
    import subprocess
    import sys

    code = "import sys; from ftcourse import interview; interview.questions(); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_a_defence_is_one_sentence_of_at_most_40_words_with_two_reasons():
    wiki = next(q for q in interview.DECISIONS if q.id == "decide.wiki-chatbot")
    good = "The wiki is knowledge the model lacks and it changes daily, so retrieve the pages."
    assert drill.check_defence(wiki, good).correct
    assert "more than one sentence" in drill.check_defence(wiki, good.replace(" and it", ". It")).detail
    assert "41 words" in drill.check_defence(wiki, good[:-1] + " " + "really " * 25 + "now.").detail
    assert "names 0 of the reasons" in drill.check_defence(wiki, "It is the best option here.").detail


def test_a_scenarios_rubric_follows_what_fails_in_it():
    from ftcourse.decide import Need

    knowledge = interview.defence_points(Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), "RAG")
    assert knowledge == (interview.KNOWS, interview.RETRIEVES, interview.STORES_BADLY, interview.CHANGES)
    untried = interview.defence_points(Need(missing_knowledge=False, wrong_behaviour=True), "prompt")
    assert untried == (interview.BEHAVIOUR, interview.TRY_FIRST, interview.INSTRUCTION)
    volume = interview.defence_points(Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False, high_volume=True),
                                      "fine-tune")
    assert volume == (interview.BEHAVIOUR, interview.PROMPT_WORKS, interview.NOT_RETRIEVAL, interview.VOLUME, interview.IN_WEIGHTS)
    assert len(interview.DECISIONS) == len(interview.decide.SCENARIOS)
