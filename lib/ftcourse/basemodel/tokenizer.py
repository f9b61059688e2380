"""The course model's tokenizer: byte-level BPE trained on the corpus, with a chat template.

Byte-level BPE never meets an unknown character. Runs of digits are merged
like words (as in GPT-2), so a parcel id or a price is a few distinctive tokens:
a small model learns to copy those from a record far sooner than strings of
single digits, which repeat everywhere in a record.

The chat template wraps each turn in role markers and closes it with the end
token. It marks the assistant's words with ``{% generation %}``, which is how
``apply_chat_template(..., return_assistant_tokens_mask=True)`` knows which
tokens a fine-tune should learn from: the reply and its end token, not the
prompt.
"""
from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

BOS, EOS, PAD = "<|begin|>", "<|end|>", "<|pad|>"
ROLES = ("system", "user", "assistant")
ROLE_TOKENS = [f"<|{role}|>" for role in ROLES]
SPECIAL_TOKENS = [PAD, BOS, EOS, *ROLE_TOKENS]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"
    "{% else %}"
    "{{ message['content'] + eos_token }}"
    "{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def render_chat(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The template's text for ``messages`` without a tokenizer (the corpus needs it before one exists)."""
    text = BOS + "".join(f"<|{m['role']}|>\n{m['content']}{EOS}\n" for m in messages)
    return text + ("<|assistant|>\n" if add_generation_prompt else "")


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """Train BPE on ``texts`` and wrap it the way a hub model's tokenizer is wrapped."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    bos = bpe.token_to_id(BOS)
    # Plain text starts with the begin token, as every pretraining document did.
    bpe.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos)])
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS,
        model_max_length=model_max_length,
        chat_template=CHAT_TEMPLATE,
    )
