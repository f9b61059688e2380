"""Routing support tickets: the queue a ticket goes to, answered in one word.

The queue is the ticket's category (``tickets.CATEGORIES``; after the
integrations launch also ``integration``). The prompt does not list the queues:
a fine-tune learns them from its examples, as a deployed router does, so the
same prompt serves before and after the world changes. A reply counts only if,
stripped of surrounding whitespace, it is exactly a queue name.
"""
from __future__ import annotations

from collections.abc import Sequence

from .tickets import CATEGORIES, Ticket

SYSTEM_PROMPT = "Route this LandAI support ticket to a team's queue. Answer with the queue name only."
MAX_NEW_TOKENS = 6  # the longest queue name, feature_request, is 4 tokens, then the end token


def request_text(ticket: Ticket) -> str:
    """What the router reads: the customer's first message, subject included.

    The problem that decides the queue is always stated there; the sender's address and the
    follow-ups (plan, urgency) never change it, and every token read is paid for on every request.
    """
    first = ticket.thread.split("\n\n--- reply", 1)[0]
    return first.split("\n", 1)[1] if first.startswith("From:") else first


def conversation(ticket: Ticket, label: str | None = None) -> dict:
    """The routing request for ``ticket``; with ``label``, a training example that answers it."""
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request_text(ticket)}]
    if label is not None:
        messages.append({"role": "assistant", "content": label})
    return {"messages": messages}


def parse(reply: str, queues: Sequence[str] = CATEGORIES) -> str | None:
    """The queue a reply names, or None when it names none exactly (a case variant, extra words, nothing)."""
    label = reply.strip()
    return label if label in queues else None


def route(model, tokenizer, tickets: Sequence[Ticket], batch_size: int = 32) -> list[str]:
    """The model's raw replies (greedy), one per ticket."""
    from ..train import generate_many

    return generate_many(model, tokenizer, [conversation(t)["messages"] for t in tickets],
                         max_new_tokens=MAX_NEW_TOKENS, batch_size=batch_size)


def correct(replies: Sequence[str], tickets: Sequence[Ticket]) -> list[bool]:
    """Whether each reply is exactly the ticket's category."""
    if len(replies) != len(tickets):
        raise ValueError(f"{len(replies)} replies for {len(tickets)} tickets")
    return [reply.strip() == t.record["category"] for reply, t in zip(replies, tickets)]
