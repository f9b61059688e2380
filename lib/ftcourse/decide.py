"""Prompt, retrieve, or fine-tune: the litmus test, and a bank of scenarios to practise it on.

Fine-tuning changes how a model behaves (a format, a voice, a narrow skill); it is a
poor way to change what it knows. So the first question about any gap is which kind
it is. Knowledge the model lacks belongs in the prompt at request time, fetched by
retrieval (RAG), which stays current when the facts change. Behaviour is tried with
prompting first, examples included; only when good examples in the prompt still fail,
or when carrying them on every request costs too much at the volume served, does the
behaviour move into the weights. The two compose: retrieval brings the facts, the
fine-tune writes them the way you want.

``SCENARIOS`` is a plain tuple of ``Scenario`` records (a situation in words, the
``Need`` read from it, the answer and why), meant to be imported by drills.
"""
from __future__ import annotations

from dataclasses import dataclass

PROMPT, RAG, FINE_TUNE, RAG_AND_FINE_TUNE = "prompt", "RAG", "fine-tune", "RAG + fine-tune"
CHOICES = (PROMPT, RAG, FINE_TUNE, RAG_AND_FINE_TUNE)


@dataclass(frozen=True)
class Need:
    """What fails, read from a situation: the four questions the litmus test asks."""

    missing_knowledge: bool  # the answer needs facts the model cannot know: your data, private, or newer than it
    wrong_behaviour: bool  # it does not do the task the way you want: format, voice, a narrow skill
    fails_with_examples: bool | None = None  # with good examples in the prompt, does it still fail? None: not tried yet
    knowledge_changes: bool = False  # the facts keep changing while the system is in use: edits, updates, new records
    high_volume: bool = False  # volume, latency or cost per request make a long prompt expensive


@dataclass(frozen=True)
class Decision:
    choice: str  # one of CHOICES
    reason: str  # one line


def _behaviour(need: Need) -> tuple[str, str]:
    if need.fails_with_examples is None:
        return PROMPT, "try a clear instruction with good examples before training anything"
    if need.fails_with_examples:
        return FINE_TUNE, "good examples in the prompt still fail, so the behaviour has to move into the weights"
    if need.high_volume:
        return FINE_TUNE, "examples in the prompt work but are paid for on every request at this volume; training buys them once"
    return PROMPT, "examples in the prompt already get it right, and at this volume they cost little"


def litmus(need: Need) -> Decision:
    """The reference litmus test: knowledge gaps go to retrieval, behaviour gaps to prompting, then fine-tuning."""
    if need.missing_knowledge:
        fresh = "facts that change" if need.knowledge_changes else "facts the model does not have"
        knowledge = f"{fresh} belong in the prompt at request time, where retrieval keeps them current"
        if need.wrong_behaviour:
            behaviour, why = _behaviour(need)
            if behaviour == FINE_TUNE:
                return Decision(RAG_AND_FINE_TUNE, f"{knowledge}; and {why}")
            return Decision(RAG, f"{knowledge}; the behaviour is a prompt away ({why})")
        return Decision(RAG, knowledge)
    if need.wrong_behaviour:
        return Decision(*_behaviour(need))
    return Decision(PROMPT, "nothing is missing that a clearer instruction cannot ask for")


@dataclass(frozen=True)
class Scenario:
    name: str  # short and unique: what a drill shows as the title
    situation: str  # the situation in words, as an interviewer or a product manager would put it
    need: Need  # what the situation says fails, read into the litmus test's questions
    answer: str  # one of CHOICES
    why: str  # the one-sentence defence
    source: str  # "syllabus" (the four decision reps) or "course world"


SCENARIOS: tuple[Scenario, ...] = (
    # The four decision reps of the syllabus.
    Scenario("wiki chatbot", "A chatbot must answer employees' questions from the company wiki, which people edit every day.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "The answers are in documents that change daily: retrieve the right pages into the prompt; a fine-tune would "
             "freeze yesterday's wiki into the weights and still misquote it.", "syllabus"),
    Scenario("exact JSON schema", "An extractor must emit your exact JSON schema on every request; with examples in the "
             "prompt it still breaks the schema now and then.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=True), FINE_TUNE,
             "A strict output format is behaviour, and prompting has already failed to make it reliable: train it into the "
             "weights.", "syllabus"),
    Scenario("new library", "The model does not know a library released last month, which ships a new release every few "
             "weeks, and your users ask how to call it.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "It is missing knowledge: put the library's docs in the prompt by retrieval (or wait for a newer model); "
             "a fine-tune on them memorises some sentences and hallucinates the rest.", "syllabus"),
    Scenario("brand voice at scale", "A support bot should sound like your brand across 50,000 tickets a day; a long "
             "prompt full of example replies gets the voice right.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False, high_volume=True), FINE_TUNE,
             "Voice is behaviour, and at 50,000 requests a day the example-laden prompt is rented on every one of them: "
             "train the voice in once.", "syllabus"),
    # The course world: LandAI's parcel reports, commit labels, support tickets.
    Scenario("parcel zoning questions", "Buyers ask LandAI what a parcel is zoned; the county board rezones parcels at its "
             "monthly meetings.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "Zoning is a fact in the listings database that changes: retrieve the parcel's record, and a rezoning is "
             "right on the next request.", "course world"),
    Scenario("memorise the listings", "The LandAI team proposes fine-tuning the model on question-answer pairs about all "
             "4,000 parcels so that it knows them without a database.",
             Need(missing_knowledge=True, wrong_behaviour=False), RAG,
             "A fine-tune is a terrible database: it keeps stale answers until retrained, guesses confidently about "
             "parcels it never saw, and cannot say where an answer came from.", "course world"),
    Scenario("new county onboarded", "LandAI adds a new county: 300 parcel records arrive tonight and more every week.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "New records are new knowledge: index them for retrieval and they are answerable tonight, no training run.",
             "course world"),
    Scenario("house layout, records retrieved", "LandAI's app already retrieves the parcel record; the summaries must "
             "follow the house layout, and with example summaries in the prompt the layout still breaks.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=True), FINE_TUNE,
             "The facts are already in the prompt; what fails is the layout, a behaviour the examples did not fix: "
             "fine-tune it.", "course world"),
    Scenario("report writer end to end", "LandAI's report writer must summarise any listed parcel, including ones added "
             "today, in the house layout that prompting with examples does not hold.",
             Need(missing_knowledge=True, wrong_behaviour=True, fails_with_examples=True, knowledge_changes=True),
             RAG_AND_FINE_TUNE,
             "It needs both: retrieval for each parcel's current record, a fine-tune for the layout the prompt could not "
             "enforce; the fine-tuned model reads the retrieved record.", "course world"),
    Scenario("shorter summaries", "Product wants LandAI's summaries shorter; adding 'at most 80 words' to the system "
             "prompt already does it.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False), PROMPT,
             "The instruction works and costs a few tokens: keep it in the prompt; nothing here needs training.",
             "course world"),
    Scenario("commit labels, untried", "The team wants commit messages labelled feat, fix or chore, and proposes a "
             "fine-tune before anyone has tried a prompt.",
             Need(missing_knowledge=False, wrong_behaviour=True), PROMPT,
             "Nobody has tried a prompt with examples yet: do that and measure it first; fine-tuning before prompting is "
             "the classic waste.", "course world"),
    Scenario("commit labels in CI", "Every commit of a large monorepo (200,000 a day) must be labelled in CI; a "
             "600-token few-shot prompt labels them well.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False, high_volume=True), FINE_TUNE,
             "The prompt works, but its 600 tokens are paid 200,000 times a day: a small fine-tuned model labels with "
             "a bare prompt, cheaper and faster.", "course world"),
    Scenario("commit labels still confused", "With 50 labelled examples in the prompt, the model still calls most "
             "refactors 'fix' instead of 'chore'.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=True), FINE_TUNE,
             "Prompting has been pushed hard and still fails on the task's own distinctions: a narrow skill for a "
             "fine-tune.", "course world"),
    Scenario("ticket JSON records", "Support tickets must become JSON records with the ticketing system's exact keys; "
             "with examples in the prompt, about one reply in twenty breaks the schema.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=True), FINE_TUNE,
             "A strict format is behaviour, and retrieval adds facts, not format: fine-tune it (and validate the JSON "
             "anyway).", "course world"),
    Scenario("current pricing plans", "The support bot must quote the current pricing plans, which change every quarter.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "Prices are facts that change: retrieve the current plan sheet; a fine-tune would quote last quarter's "
             "prices in a confident voice.", "course world"),
    Scenario("order history in brand voice", "Support replies must cite each customer's order history from the CRM and "
             "sound like the brand, over 30,000 tickets a day; examples in the prompt get the voice right.",
             Need(missing_knowledge=True, wrong_behaviour=True, fails_with_examples=False, knowledge_changes=True,
                  high_volume=True), RAG_AND_FINE_TUNE,
             "Each customer's history is knowledge to retrieve per request; the voice works with examples but is rented "
             "on 30,000 requests a day, so train it in.", "course world"),
    Scenario("ticket routing, small volume", "A few hundred tickets a day must be routed to one of 12 queues; ten "
             "examples in the prompt route them correctly.",
             Need(missing_knowledge=False, wrong_behaviour=True, fails_with_examples=False), PROMPT,
             "The prompt works and the volume is small, so its tokens are cheap: there is nothing for training to buy.",
             "course world"),
    Scenario("repository module names", "A commit summariser must name the repository's internal modules correctly; "
             "modules are added and renamed every week.",
             Need(missing_knowledge=True, wrong_behaviour=False, knowledge_changes=True), RAG,
             "Module names are the repository's own changing facts: retrieve them (from the tree or the diff) per "
             "request.", "course world"),
)
