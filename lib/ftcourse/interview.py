"""The interview question bank: every notebook's ideas as questions an interviewer asks.

One bank serves ``ftcourse drill`` in a terminal and notebook 08. Questions whose answer
is a number about a real model (the memory of a 70B fine-tune, the size of an adapter)
compute it from ``ftcourse.memory`` and ``ftcourse.lora`` on PyTorch's meta device, so
the bank and the library cannot disagree. Each topic is a notebook:

decide (01), data (02), mechanics (03), lora (04), memory (05), evals (06),
production (07), and explain: the "explain it in 60 seconds" answers, scored by rubric.

The decision reps are notebook 01's scenario bank (``ftcourse.decide.SCENARIOS``); the key
points a one-sentence defence should make are read from each scenario's ``Need``, the
same questions the litmus test asks, so a new scenario comes with its rubric.
"""
from __future__ import annotations

import math
from functools import cache

from . import decide
from .drill import Question, tools_named
from .rubric import point, words
from .world import landai

TOPICS = ("decide", "data", "mechanics", "lora", "memory", "evals", "production", "explain")


# ---------------------------------------------------------------- decide (01)

# What a one-sentence defence of a decision should say, read from the litmus test's questions.
KNOWS = point("it is knowledge the model lacks", "know*", "knowledge", "facts", "information", "content", "data")
CHANGES = point("the knowledge changes, retrieval stays current", "chang*", "updat*", "current", "fresh", "stale", "new", "daily")
RETRIEVES = point("retrieval puts the source in the prompt", "retriev*", "look* up", "search*", "cite*", "ground*", "source*", "context",
                  "came from")
STORES_BADLY = point("a fine-tune stores facts badly", "terrible database", "memoris*", "memoriz*", "hallucinat*", "misquot*",
                     "recall*", "guess*", "training facts", "train facts")
BEHAVIOUR = point("it is behaviour (format, voice, skill), not knowledge",
                  "behavio*", "format*", "schema", "structure*", "voice", "tone", "style", "skill", "layout")
PROMPT_FAILS = point("prompting with examples is not reliable enough",
                     "prompt*", "few shot", "examples", "reliabl*", "unreliabl*", "inconsistent*", "every time", "100%")
PROMPT_WORKS = point("the prompt already works", "already", "works", "gets it right", "get it right", "does it")
COSTS_LITTLE = point("at this volume its tokens cost little", "cheap*", "few tokens", "small", "little", "costs")
INSTRUCTION = point("an instruction with examples in the prompt does it", "instruction*", "system prompt", "in the prompt",
                    "prompt with examples", "tell", "ask")
NOT_RETRIEVAL = point("retrieval would add facts, not the behaviour", "not knowledge", "not format", "adds facts", "retrieval adds",
                      "facts are already", "already in the prompt", "already retriev*")
TRY_FIRST = point("prompting is free and instant: try it first", "free", "instant", "first", "no training", "quick*", "measure*")
VOLUME = point("at volume, long prompts cost too much", "cost*", "cheap*", "volume", "scale", "tokens", "latency", "per request",
               "every request", "a day")
IN_WEIGHTS = point("training puts the behaviour in the weights", "weights", "train*", "learn*", "bake*", "buy*")


def defence_points(need, answer: str) -> tuple:
    """The key points a defence of ``answer`` should make, from what the situation says fails (a ``decide.Need``)."""
    tools = tools_named(answer)
    points = []
    if need.missing_knowledge:
        points += [KNOWS, RETRIEVES] + ([STORES_BADLY] if "fine-tune" not in tools else [])
    if need.knowledge_changes:
        points.append(CHANGES)
    if need.wrong_behaviour:
        points.append(BEHAVIOUR)
        if need.fails_with_examples is None:
            points.append(TRY_FIRST)
        elif need.fails_with_examples:
            points.append(PROMPT_FAILS)
        else:
            points += [PROMPT_WORKS] + ([COSTS_LITTLE] if "fine-tune" not in tools else [])
        if not need.missing_knowledge and "fine-tune" in tools:
            points.append(NOT_RETRIEVAL)
    if tools == {"prompt"}:
        points.append(INSTRUCTION)
    if need.high_volume:
        points.append(VOLUME)
    if "fine-tune" in tools:
        points.append(IN_WEIGHTS)
    return tuple(points)


def _decision(scenario) -> Question:
    slug = "-".join(words(scenario.name))
    return Question(f"decide.{slug}", "decide", "choice", f"{scenario.situation} Prompt, RAG or fine-tune?", scenario.why,
                    tools_named(scenario.answer), rubric=defence_points(scenario.need, scenario.answer))


DECISIONS = tuple(_decision(s) for s in decide.SCENARIOS)  # the decision reps are notebook 01's scenario bank


# ---------------------------------------------------------------- memory (05), computed

# How each run keeps its state; the estimate is of everything but activations, for one 512-token sequence.
MEMORY_RUNS = {
    "full-fp32": ("full fine-tuning in fp32 with AdamW (4-byte weights and gradients, two fp32 moments)",
                  dict(method="full", weight_dtype="float32")),
    "full-mixed": ("full fine-tuning in mixed precision (bf16 weights and gradients, AdamW's two moments in fp32, no fp32 master copy)",
                   dict(method="full", weight_dtype="bfloat16", optimizer="adamw_fp32")),
    "lora": ("LoRA of rank 16 on every linear layer of the blocks over a frozen bf16 base (adapters, their gradients and AdamW's "
             "moments in fp32)", dict(method="lora", weight_dtype="bfloat16", lora_r=16)),
    "qlora": ("QLoRA: the blocks' linear layers in NF4 with double quantization, embeddings, norms and output layer in fp32 "
              "(as peft's prepare_model_for_kbit_training leaves them), LoRA of rank 16 on every linear layer as above",
              dict(method="qlora", lora_r=16)),
}
# memory.LLAMA_2 by label, spelled out: importing memory imports torch, and the drill starts without it.
MODELS = {"7B": "llama-2-7b", "13B": "llama-2-13b", "70B": "llama-2-70b"}
ALL_LINEAR = "all"  # LoRA on every linear layer of the blocks (memory.LLAMA_PROJECTIONS)


@cache
def static_bytes(shape: str, run: str) -> int:
    """Bytes of a training run before activations: weights, quantization constants, adapters, gradients, optimizer state."""
    from . import memory

    b = memory.estimate_training_memory(memory.llama_config(shape), batch_size=1, seq_len=512, **MEMORY_RUNS[run][1])
    return b.static + b.gradients


@cache
def lora_parameters(shape: str, r: int, targets: tuple[str, ...] | str) -> int:
    """LoRA's trainable parameters, counted by ``ftcourse.lora`` on a model built on the meta device.

    ``targets`` names the adapted layers (``"q_proj"``, ...), or is ``ALL_LINEAR`` for every linear layer of the blocks.
    """
    from . import lora, memory

    model = memory.meta_model(memory.llama_config(shape))
    lora.add_lora(model, list(memory.LLAMA_PROJECTIONS if targets == ALL_LINEAR else targets), r=r, alpha=2 * r)
    return lora.trainable_parameters(model).trainable


def describe(shape: str) -> str:
    """A Llama shape in words, as an interviewer would give it."""
    from .memory import LLAMA_SHAPES

    h, f, layers, heads, kv, vocab = LLAMA_SHAPES[shape]
    attention = f"{heads} heads of {h // heads}" + (f" with {kv} key/value heads" if kv != heads else "")
    return f"hidden size {h:,}, MLP width {f:,}, {layers} layers, {attention}, a vocabulary of {vocab:,}"


def _memory_questions() -> list[Question]:
    found = []
    for size, shape in MODELS.items():
        for run, (how, _) in MEMORY_RUNS.items():
            found.append(Question(
                f"memory.{run}.{size.lower()}", "memory", "numeric",
                lambda size=size, shape=shape, how=how: f"Llama-2-{size} ({describe(shape)}): how many GB (10^9 bytes) does "
                f"{how} need before activations: weights, quantization constants, adapters, gradients and optimizer state?",
                "Count bytes per value: trained values carry a gradient and two AdamW moments, frozen ones only their weight; "
                "NF4 with double quantization is 4.127 bits per weight. ftcourse.memory.estimate_training_memory gives each part.",
                answer=lambda shape=shape, run=run: static_bytes(shape, run) / 1e9, tolerance=0.1, unit="GB"))
    lora_counts = [
        ("7b-qv-r8", "llama-2-7b", 8, ("q_proj", "v_proj"), "the LoRA paper's setting"),
        ("13b-attention-r16", "llama-2-13b", 16, ("q_proj", "k_proj", "v_proj", "o_proj"), "all four attention projections"),
        ("70b-all-r16", "llama-2-70b", 16, ALL_LINEAR, "every linear layer of the blocks"),
    ]
    for name, shape, r, targets, what in lora_counts:
        where = "q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj and down_proj" if targets == ALL_LINEAR else " and ".join(targets)
        found.append(Question(
            f"memory.lora-params.{name}", "memory", "numeric",
            lambda shape=shape, r=r, where=where, what=what:
            f"LoRA of rank {r} on {where} ({what}) in every layer of a model with {describe(shape)}: how many trainable parameters?",
            "Each adapted layer trains r x (in + out): A is r x in, B is out x r. With grouped-query attention, k_proj and v_proj "
            "output only key/value heads x head size.",
            answer=lambda shape=shape, r=r, targets=targets: lora_parameters(shape, r, targets), tolerance=0.02))
        found.append(Question(
            f"memory.adapter-mb.{name}", "memory", "numeric",
            lambda shape=shape, r=r, where=where: f"The same adapter (rank {r} on {where}, {describe(shape)}) saved in bf16: "
            f"how many MB (10^6 bytes) is the file, leaving out its small header?",
            "Two bytes per trained parameter in bf16 (four in fp32): megabytes, not the gigabytes of the model.",
            answer=lambda shape=shape, r=r, targets=targets: 2 * lora_parameters(shape, r, targets) / 1e6, tolerance=0.05, unit="MB"))
    return found


def _nf4_bits() -> float:
    from .quant import ABSMAX_BLOCKSIZE, BLOCKSIZE

    return 4 + 8 / BLOCKSIZE + 32 / (BLOCKSIZE * ABSMAX_BLOCKSIZE)


def _bytes_per_parameter(dtype: str, optimizer: str) -> float:
    """A trained parameter's weight and gradient in ``dtype``, and its optimizer state."""
    from . import memory

    return 2 * memory.nbytes(dtype) + memory.optimizer_bytes(1, dtype, optimizer)


# ---------------------------------------------------------------- evals (06)


def eval_size(accuracy: float, margin: float, z: float = 1.96) -> int:
    """Smallest eval set whose 95% interval around ``accuracy`` is at most +-``margin`` (normal approximation)."""
    return math.ceil(z * z * accuracy * (1 - accuracy) / (margin * margin))


# ---------------------------------------------------------------- explain it in 60 seconds

EXPLAIN = [
    Question("explain.lora", "explain", "rubric", "Explain LoRA in 60 seconds.",
             "LoRA trains a small low-rank correction beside frozen weights: cheap to train, small to store, free at inference once merged.",
             rubric=(point("the pretrained weights stay frozen", "freez*", "frozen", "fixed", "untouched"),
                     point("a low-rank pair of matrices A and B learns the update", "low rank", "rank", "two small matri*", "a and b", "b a", "ab"),
                     point("under 1% of the parameters train", "1%", "fraction", "few parameters", "small share", "percent", "tiny"),
                     point("B starts at zero and the update is scaled by alpha / r", "zero", "alpha", "scal*"),
                     point("adapters are small files, swappable on one base, or merged at no inference cost",
                           "adapter*", "swap*", "merg*", "mb", "megabytes")),
             need=3,
             model_answer="Full fine-tuning moves every weight. LoRA freezes the pretrained weight W of chosen layers and learns the "
                          "change as a product of two thin matrices, B times A, of rank r, often 8 to 64. Only A and B train: well "
                          "under 1% of the parameters, so gradients and optimizer state nearly vanish. B starts at zero, so training "
                          "starts from the base model, and the update is scaled by alpha over r. The adapter is a file of megabytes: "
                          "keep one base model and swap adapters per task, or merge B A into W, and inference costs nothing extra. "
                          "It works because the change a fine-tune needs is close to low rank."),
    Question("explain.qlora", "explain", "rubric", "Explain QLoRA in 60 seconds.",
             "QLoRA is LoRA over a base stored in 4-bit NF4: the frozen weights shrink about four times, the adapters still train in higher precision.",
             rubric=(point("it is LoRA: adapters train, the base is frozen", "lora", "adapter*", "frozen", "freez*"),
                     point("the frozen base is quantized to 4 bits", "4 bit", "4bit", "four bit", "quantiz*"),
                     point("NF4: a 4-bit format shaped like normally distributed weights, with block scales", "nf4", "normal*", "block*", "absmax"),
                     point("double quantization and paged optimizers save more", "double quant*", "paged"),
                     point("it fits big models on one GPU (65B in under 48 GB)", "one gpu", "single gpu", "consumer", "48 gb", "memory")),
             need=3,
             model_answer="QLoRA is LoRA on top of a quantized base. The frozen weights, most of the memory once only adapters train, "
                          "are stored in 4-bit NF4: sixteen levels placed at quantiles of a normal distribution, because weights are "
                          "roughly normal, with one scale per block of 64 weights. Double quantization stores those scales in 8 bits, "
                          "about 4.13 bits per weight in all. In each forward pass the 4-bit weights are dequantized to bf16 to multiply; "
                          "gradients flow through them into the LoRA adapters, which stay in higher precision. Paged optimizers absorb "
                          "memory spikes. The result: a 65B model fine-tunes on one 48 GB GPU with quality close to 16-bit LoRA."),
    Question("explain.forgetting", "explain", "rubric", "Explain catastrophic forgetting in 60 seconds.",
             "Training hard on a narrow set overwrites general abilities; low learning rates, LoRA, mixing general data and regression checks keep them.",
             rubric=(point("the model loses general abilities it had", "forget*", "los*", "general", "abilit*", "overwrit*"),
                     point("while specialising on the narrow fine-tuning data", "narrow", "special*", "task", "your data"),
                     point("an aggressive learning rate or too many epochs makes it worse", "learning rate", "lr", "epoch*", "aggressive", "too high"),
                     point("mitigate: low learning rate, LoRA, mixing general data back in", "low* learning rate", "small* learning rate", "lora", "mix*", "replay", "general data"),
                     point("detect it with a regression check on general ability and safety", "regression*", "perplexity", "safety", "check", "eval*")),
             need=3,
             model_answer="Fine-tuning nudges weights that also carry everything pretraining taught. Push hard on a narrow data set, with a "
                          "high learning rate or many epochs, and the model gets better at your task while losing general abilities: "
                          "it writes worse ordinary text, or stops refusing harmful requests. That is catastrophic forgetting. It is mild "
                          "at low learning rates and with LoRA, which changes few parameters. Mix some general and safety examples back "
                          "into the data, and always run a regression check, general perplexity and safety behaviour, beside the task eval."),
    Question("explain.evals-first", "explain", "rubric", "Explain in 60 seconds why you build the evals before fine-tuning.",
             "Without a held-out eval and a scorer, you cannot tell a fine-tune that works from one that feels like it does.",
             rubric=(point("you cannot improve what you do not measure: vibes are not a metric", "measur*", "vibes", "metric", "prove"),
                     point("a held-out set the model never trains on", "held out", "holdout", "test set", "never train*", "leak*"),
                     point("a scoring method chosen for the task: exact match, rubric or judge", "exact match", "rubric", "judge", "scor*"),
                     point("a baseline (the best prompt) to beat", "baseline", "prompt*", "compare"),
                     point("it catches regressions and guides the data fixes", "regression*", "failures", "fix*", "iterat*")),
             need=3,
             model_answer="Because otherwise you are judging by vibes. Before any training, set aside held-out examples the model will never "
                          "train on, 50 to 200 to start and more when the difference you need to see is small, and pick a scorer that fits the task: exact match for labels, a rubric for structured "
                          "output, a judge model you have validated for open text. Score your best prompt first: that is the baseline a "
                          "fine-tune has to beat, and sometimes it is good enough. After training, the same eval compares base and "
                          "fine-tuned, its failures show which data to fix, and a regression check beside it catches what the fine-tune broke."),
    Question("explain.distillation", "explain", "rubric", "Explain distillation (teacher to student) in 60 seconds.",
             "A big model labels or writes the training data for a narrow task; a small model fine-tuned on it serves the task cheaply.",
             rubric=(point("a large teacher model generates or grades training data", "teacher", "large model", "big model", "frontier", "generat*", "label*"),
                     point("a small student model is fine-tuned on it", "student", "small* model", "fine tun*"),
                     point("for a narrow task", "narrow", "task", "specific"),
                     point("serving costs and latency drop", "cost*", "cheap*", "latency", "faster", "tenth"),
                     point("check the student against the teacher on a held-out eval", "eval*", "held out", "compare", "quality", "match")),
             need=3,
             model_answer="A frontier model does your narrow task well but is slow and costly at volume. Use it as the teacher: have it "
                          "label or write thousands of examples, and filter them. Fine-tune a small student model on that data. On the "
                          "narrow task the student can come close to the teacher, and it serves at a fraction of the cost and latency. "
                          "Measure the student against the teacher on a held-out eval before switching, because it only learns what the "
                          "data covers. Routers, classifiers and extractors in production are often built this way."),
]


# ---------------------------------------------------------------- the data critique (02)

PROBLEMS = ("ok", "format", "length", "tone", "fact")


def _with_bullets(summary: str, change) -> str:
    """The summary with each ``- Label: value`` bullet passed through ``change(label, value)``."""
    lines = summary.splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        label, value = line[2:].split(": ", 1)
        out.append(change(label, value))
    return "\n".join(out)


_PADDING = {
    "Zoning": "Zoning is set by the county and decides what may legally be built on the land, so it is the first thing to check.",
    "Flood risk": "Flood zones come from the federal flood maps and affect both insurance premiums and what lenders will finance.",
    "Size and terrain": "Size and slope together decide how much of the lot is usable and how much grading a builder would need.",
    "Access and utilities": "Bringing a missing road or utility to a parcel can cost more than the land itself, so budget for it.",
    "Price": "Prices in this county have moved over the last few years, so compare with recent sales of similar parcels nearby.",
}
_CHEER = {"Size and terrain": "lovely land!", "Access and utilities": "super convenient!", "Price": "an absolute steal, honestly!"}


def _transposed(price: int) -> int:
    """The price with its two leading digits swapped, the typo a person makes copying a number (they must differ)."""
    digits = str(price)
    i = next(k for k in range(len(digits) - 1) if digits[k] != digits[k + 1])
    return int(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])


_PLANT = {
    "ok": lambda p, s: s,
    "format": lambda p, s: "## Parcel {} — Buyer Summary\n".format(p.parcel_id) + "\n".join(
        f"* **{line[2:].split(': ', 1)[0]}**: {line[2:].split(': ', 1)[1]}" for line in s.splitlines()[1:]),
    "length": lambda p, s: _with_bullets(s, lambda label, value: f"- {label}: {value}" + (f". {_PADDING[label]}" if label in _PADDING else "")),
    "tone": lambda p, s: _with_bullets(s, lambda label, value: f"- {label}: {value}" + (f" — {_CHEER[label]}" if label in _CHEER else "")),
    "fact": lambda p, s: s.replace(f"${p.price_usd:,} (", f"${_transposed(p.price_usd):,} ("),
}


def critique_set(seed: int = 0) -> tuple[list[dict], list[str]]:
    """Five LandAI training conversations, four of them each with one planted problem, and what each one's problem is.

    The problems are the ones a data review looks for: a different ``format`` (same facts, other
    markup), a ``length`` far from the rest (five bullets padded with general remarks), a ``tone`` that breaks the house
    voice (cheerful asides), and a wrong ``fact`` (the price copied with two digits swapped). One is
    ``ok``. Which conversation has which problem depends on ``seed``.
    """
    import random

    from .world import parcels

    rng = random.Random(f"critique:{seed}")
    kinds = list(PROBLEMS)
    rng.shuffle(kinds)
    chosen = parcels(len(kinds), seed=f"critique:{seed}")
    conversations = []
    for kind, p in zip(kinds, chosen):
        c = landai.conversation(p)
        c["messages"][-1]["content"] = _PLANT[kind](p, c["messages"][-1]["content"])
        conversations.append(c)
    return conversations, kinds


# ---------------------------------------------------------------- eval design (06)

PRODUCTS = {
    "commit-router": "Label each commit message feat, fix or chore for a release-notes tool: one right label per message.",
    "buyer-summaries": "LandAI's buyer summaries: six bullets in one house layout, every fact checkable against the parcel's record.",
    "support-replies": "Free-text replies of a support assistant, which must be polite, helpful and follow the refund policy.",
}
SCORER_FOR = {"commit-router": "exact match", "buyer-summaries": "rubric", "support-replies": "judge"}
GATE_CHECKS = {
    "task metric, fine-tuned vs base": True,
    "held-out general perplexity, fine-tuned vs base": True,
    "safety refusals, fine-tuned vs base": True,
    "training loss below a threshold": False,
    "accuracy on the training examples": False,
    "the judge agrees with itself on a second run": False,
}


# ---------------------------------------------------------------- the bank


@cache
def questions() -> tuple[Question, ...]:
    """Every question, topic by topic in course order. Computed answers are computed when first checked."""
    q = Question
    bank = list(DECISIONS)
    bank += [
        q("data.trained-tokens", "data", "numeric",
          "A training conversation has 300 tokens of system prompt, retrieved record and role markers, and a 60-token answer "
          "followed by its end token. How many tokens does the loss train on?",
          "Only the assistant's tokens, its end token included (it teaches the model to stop); the rest is context.", 61.0),
        q("data.quality", "data", "exact",
          "One word: which matters more for a fine-tuning set, quality or quantity?",
          "A few hundred consistent, deduplicated examples beat tens of thousands of scraped ones: the model amplifies whatever "
          "the examples do, mistakes included.", "quality"),
        q("data.split", "data", "exact",
          "You split a chat data set into train and test. Do you split by example, or by entity (one parcel's conversations on one side)?",
          "By entity (and near-duplicate cluster): otherwise the same parcel, or a near-copy, sits on both sides and the test leaks.",
          "by entity", accept=("entity", "by parcel", "parcel", "group", "by group")),
        q("data.inconsistent", "data", "rubric",
          "Five people wrote your 500 training examples in three formats. What will the fine-tuned model do, and what do you do about it?",
          "The model copies the mix and picks a format at random: fix the data, not the hyperparameters.",
          rubric=(point("the model reproduces the mix, at random", "random*", "mix*", "inconsistent*", "confus*", "sometimes"),
                  point("fix the data: one format, a style guide, rewrite or drop the rest", "style guide", "one format", "rewrit*", "drop*", "clean*", "fix*"),
                  point("measure consistency before training", "measur*", "consistency report", "check*", "before training")),
          need=2, model_answer="It learns all three formats and picks one at random each time: confused with confidence. Measure the "
                               "spread before training, agree on one format in a style guide, rewrite or drop the rest, then train."),
        q("data.dedup-normalise", "data", "rubric",
          "Two copies of an example differ in case and spacing only. Why remove one, and what do you normalise before comparing?",
          "A copy is trained on twice and can leak into the test split; compare after folding case and collapsing whitespace.",
          rubric=(point("normalise case", "case", "lower*", "casefold"),
                  point("normalise whitespace", "whitespace", "spac*"),
                  point("a copy weighs double or leaks into the test split", "twice", "double", "weigh*", "leak*", "test")),
          need=3, model_answer="Fold case and collapse runs of whitespace before comparing: those copies are the same example. Kept, it "
                               "is trained on twice, outweighing the rest, and if one copy lands in the test split the eval is flattered."),
        q("mechanics.three-changes", "mechanics", "rubric",
          "Fine-tuning is the ordinary training loop with three changes. Which?",
          "Start from pretrained weights, use a small learning rate, train on your own small data set.",
          rubric=(point("start from pretrained weights", "pretrain*", "pre trained", "existing weights"),
                  point("a small learning rate", "small* learning rate", "low* learning rate", "tiny learning rate", "small* lr", "low* lr"),
                  point("your own, much smaller data set", "your data", "small* data*", "own data*", "your examples", "hundreds")),
          need=3, model_answer="Start from the pretrained weights instead of random ones; use a small learning rate so the steps refine "
                               "rather than destroy; train on your own data set of hundreds to thousands of examples."),
        q("mechanics.overfitting", "mechanics", "exact",
          "Training loss keeps falling while validation loss turns up. One word for what is happening?",
          "Overfitting: the model memorises the training examples. Stop at the validation minimum (early stopping) or train fewer epochs.",
          "overfitting", accept=("overfit", "memorising", "memorizing", "memorisation", "memorization")),
        q("mechanics.masked-tokens", "mechanics", "exact",
          "In chat fine-tuning, whose tokens does the loss count: the user's, the assistant's, or all?",
          "The assistant's (with its end token): the prompt is context; training on it spends capacity predicting users.",
          "the assistant's", accept=("assistant", "assistant's", "assistants", "the assistant", "assistant tokens")),
        q("mechanics.high-lr", "mechanics", "rubric",
          "What goes wrong with too high a learning rate when fine-tuning, and how do you see it?",
          "Big steps destroy what pretraining built: the loss jumps or diverges and general ability drops (catastrophic forgetting).",
          rubric=(point("the loss spikes, oscillates or diverges", "spik*", "diverg*", "oscillat*", "jump*", "unstable", "nan"),
                  point("general ability is lost (forgetting)", "forget*", "general", "perplexity"),
                  point("use a smaller rate or warm-up", "smaller", "lower", "warm*", "schedul*")),
          need=2, model_answer="Each step moves the weights too far: the loss spikes or diverges instead of settling, and even when the "
                               "task loss looks fine, held-out general perplexity rises, the sign of forgetting. Lower the rate, warm up."),
        q("lora.b-init", "lora", "exact", "In LoRA, what value does B start at?",
          "Zero, so B A = 0 and training starts exactly from the base model; A starts random so B gets a gradient.",
          "zero", accept=("0", "zeros", "all zeros")),
        q("lora.scaling", "lora", "exact", "LoRA adds (s) B A x to W x. What is the scale s, in terms of alpha and r?",
          "alpha / r: changing r then does not change the update's size at a given learning rate.",
          "alpha / r", accept=("alpha/r", "α/r", "α / r", "lora_alpha / r")),
        q("lora.merged-cost", "lora", "exact",
          "A LoRA adapter is merged into the base weights. How much extra compute does inference cost?",
          "None: W + (alpha / r) B A is one matrix of W's shape.", "none", accept=("nothing", "zero", "0", "no extra", "no extra cost")),
        q("lora.serve-many", "lora", "rubric",
          "Forty customers each have their own fine-tune of the same base model. How do you serve them?",
          "One base in memory, forty small unmerged adapters, chosen per request.",
          rubric=(point("one shared base model", "one base", "single base", "shared base", "same base", "one copy of the base"),
                  point("an unmerged adapter per customer, applied per request", "adapter*", "per request", "swap*", "unmerged")),
          need=2, model_answer="Keep one copy of the base model in GPU memory and the forty LoRA adapters, unmerged, beside it; each "
                               "request picks its customer's adapter. Forty merged models would cost forty times the memory."),
        q("memory.bytes-full-fp32", "memory", "numeric",
          "Full fine-tuning in fp32 with AdamW: bytes per parameter before activations?",
          "4 (weight) + 4 (gradient) + 8 (AdamW's two moments) = 16.", lambda: _bytes_per_parameter("float32", "adamw"),
          tolerance=0.0),
        q("memory.bytes-full-bf16", "memory", "numeric",
          "Full fine-tuning with bf16 weights and gradients and AdamW's moments in fp32: bytes per parameter before activations?",
          "2 + 2 + 8 = 12: the QLoRA paper's '780 GB for 65B' is 12 bytes per weight.",
          lambda: _bytes_per_parameter("bfloat16", "adamw_fp32"), tolerance=0.0),
        q("memory.nf4-bits", "memory", "numeric",
          "NF4 with double quantization (blocks of 64, absmax in 8 bits with one fp32 scale per 256 blocks): bits per weight?",
          "4 + 8/64 + 32/(64 x 256) = 4.127.", _nf4_bits, tolerance=0.005, unit="bits"),
        q("memory.peak", "memory", "rubric",
          "Why is a training step's peak memory less than weights + gradients + optimizer state + activations added up?",
          "Activations and gradients never peak together: the backward pass frees activations as it creates gradients.",
          rubric=(point("activations and gradients do not peak at once", "not at the same time", "never peak together", "do not peak together", "don't peak together", "not together", "same time", "never all alive at once", "not all alive at once"),
                  point("the backward pass frees activations while it makes gradients", "backward", "free*", "releas*")),
          need=2, model_answer="Because activations and gradients are never all alive at once: the backward pass frees each layer's "
                               "activations as it creates that layer's gradients. Peak = weights and optimizer state + the larger of the two."),
        q("evals.scorer-labels", "evals", "exact",
          "Scorer for classifying commit messages as feat / fix / chore: exact match, rubric or judge?",
          "Exact match: one right label per example.", "exact match", accept=("exact", "exact-match", "accuracy")),
        q("evals.scorer-summaries", "evals", "exact",
          "Scorer for LandAI buyer summaries (one layout, facts from the record): exact match, rubric or judge?",
          "A rubric: check each bullet against the record; many correct texts exist, but every fact is checkable.", "rubric"),
        q("evals.scorer-open", "evals", "exact",
          "Scorer for whether support replies are polite and helpful: exact match, rubric or judge?",
          "A judge model, validated against human labels (agreement, kappa) before you trust it.", "judge",
          accept=("llm as judge", "llm judge", "a judge", "model judge")),
        q("evals.size", "evals", "numeric",
          "You expect about 90% accuracy and want the 95% interval to be at most +-5 points. How many eval examples, at least "
          "(normal approximation)?",
          "n = 1.96^2 x 0.9 x 0.1 / 0.05^2, rounded up: a 50-example eval cannot tell 85% from 90%.",
          lambda: eval_size(0.9, 0.05), tolerance=0.03),
        q("evals.gate", "evals", "rubric",
          "Your fine-tune wins on the task eval. What must it also pass before it ships?",
          "A regression gate: general ability and safety behaviour must not drop beyond the noise.",
          rubric=(point("general ability (held-out perplexity, general tasks)", "general", "perplexity"),
                  point("safety behaviour (refusals)", "safety", "refus*", "harmful"),
                  point("compared with the base, allowing for noise", "base", "confidence", "interval", "noise", "threshold")),
          need=2, model_answer="A regression check against the base model: general ability (held-out perplexity or a general eval) and "
                               "safety behaviour (it still refuses what it should), each within a threshold that allows for the "
                               "eval's noise."),
        q("evals.judge-trust", "evals", "rubric", "How do you know you can trust an LLM judge?",
          "Measure it: agreement and Cohen's kappa against human or rubric labels, and known biases (length, position).",
          rubric=(point("compare with human or rubric labels", "human*", "label*", "rubric", "ground truth"),
                  point("agreement corrected for chance (kappa)", "kappa", "agreement", "agree*"),
                  point("test known biases: length, position, self-preference", "bias*", "length", "position", "verbos*")),
          need=2, model_answer="You measure it before you use it: grade a labelled sample with the judge and report agreement and Cohen's "
                               "kappa against the human or rubric labels, and test its biases, such as preferring longer answers."),
        q("production.distillation", "production", "exact",
          "One word: a big model labels data for a narrow task and a small model is fine-tuned on it to serve it cheaply.",
          "Distillation (teacher to student).", "distillation", accept=("distilling", "distill", "distil", "knowledge distillation")),
        q("production.drift", "production", "rubric", "Your fine-tune shipped six months ago. What do you plan for?",
          "Drift: the product and its inputs change, so keep evaluating on fresh data and budget for re-tuning.",
          rubric=(point("the data and product drift", "drift*", "chang*"),
                  point("keep evaluating on fresh production data", "monitor*", "eval*", "fresh", "production data"),
                  point("budget for re-tuning", "re tun*", "retrain*", "retun*", "budget")),
          need=2, model_answer="Drift: the product changes, users ask new things, the format evolves. Keep running the evals on fresh "
                               "production samples, and budget for re-tuning like you budget for migrations."),
    ]
    bank += _memory_questions()
    bank += EXPLAIN
    return tuple(bank)
