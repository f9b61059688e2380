"""Support tickets sent to LandAI, each with the record an extractor must produce.

The record is decided first and the thread written from it, so every value is
stated somewhere in the thread (sometimes only in a follow-up message):

- ``category``: billing, bug, data_error, account or feature_request;
- ``priority``: urgent when the customer has a deadline within two days or the
  whole team is blocked; high when they cannot work or were charged wrongly;
  low for feature requests and questions; normal otherwise;
- ``parcel_id``: the course parcel the ticket is about, or None;
- ``refund_requested``: whether they ask for money back.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .parcels import COURSE_IDS

CATEGORIES = ("billing", "bug", "data_error", "account", "feature_request")
PRIORITIES = ("low", "normal", "high", "urgent")
PLANS = ("free", "pro", "team", "enterprise")

FIRST = ["Dana", "Marcus", "Lena", "Tyrone", "Aiko", "Rafael", "Beth", "Oluwaseun", "Greta", "Hector", "Ines",
         "Jamal", "Karin", "Liam", "Mei", "Nadia", "Owen", "Paula", "Quentin", "Rosa", "Stefan", "Tessa"]
LAST = ["Whitfield", "Okoye", "Brandt", "Delgado", "Sato", "Moreau", "Kowalski", "Haddad", "Lindqvist",
        "Fitzgerald", "Nakamura", "Ferreira", "O'Brien", "Castillo", "Novak", "Adeyemi"]
COMPANIES = ["Brightacre Realty", "Hollow Creek Land Co", "Summit Parcel Partners", "Red Barn Homes",
             "Meridian Surveying", "Two Rivers Title", "Oakline Builders", "Prairie Fund LLC"]
PLAN_MENTIONS = {
    "free": ["I'm just on the free tier.", "We only use the free plan for now.", "(free account)"],
    "pro": ["I pay for Pro.", "I'm on the Pro plan.", "This is on my Pro subscription."],
    "team": ["This is for our Team plan.", "We have the Team plan with 5 seats.", "(Team plan)"],
    "enterprise": ["We're an Enterprise customer.", "This is under our enterprise contract.", "(Enterprise account)"],
}
PROBLEMS = {
    "billing": [
        ("I was charged twice for {month}", "account"), ("the invoice lists a report pack we never ordered", "account"),
        ("my card was charged after I cancelled", "account"), ("we got billed for 8 seats, we only have 5", "account"),
    ],
    "bug": [
        ("the PDF report for a parcel won't download, the spinner just keeps going", "reports"),
        ("the map is blank since this morning, only the grey background shows", "map"),
        ("the /v1/search endpoint returns 500 for any query with a bbox", "api"),
        ("the app crashes as soon as I open a saved parcel", "mobile app"),
        ("CSV export comes out empty", "reports"),
    ],
    "data_error": [
        ("the flood zone on parcel {parcel} says X but the county map has it in AE", "reports"),
        ("parcel {parcel} shows as R-1 but it was rezoned to C-1 last year", "map"),
        ("the acreage for {parcel} is off by a factor of ten", "reports"),
        ("parcel {parcel} is listed with paved road access, it's a dirt track", "map"),
    ],
    "account": [
        ("I need to move my account to a new email address", "account"), ("how do I add two more seats", "account"),
        ("I can't log in, the password reset email never arrives", "account"), ("please set up SSO for our domain", "account"),
    ],
    "feature_request": [
        ("could you add KML export", "map"), ("it would be great to compare two parcels side by side", "reports"),
        ("any plans for webhooks when a report is ready?", "api"), ("a dark mode for the app would be nice", "mobile app"),
    ],
}
URGENT = ["we close on this parcel tomorrow morning", "the buyer meeting is today at 3pm",
          "nobody on our team can work right now"]
HIGH = ["this is blocking my work", "I can't do anything until this is sorted", "I need this fixed asap, clients are waiting"]
LOW = ["no rush at all", "just curious", "whenever you get a chance"]
GREETINGS = ["Hi,", "Hello LandAI team,", "Hi there", "Good morning,", "hey", "Dear support,", ""]
CLOSINGS = ["Thanks,", "Best,", "Cheers", "Regards,", "thx", "Thank you!"]
REFUND = ["I'd like a refund for that.", "Please refund the extra charge.", "Can I get my money back?"]


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    thread: str
    record: dict

    def to_dict(self) -> dict:
        return {"ticket_id": self.ticket_id, "thread": self.thread, "record": self.record}


def _one(seed: int | str, i: int) -> Ticket:
    rng = random.Random(f"ticket:{seed}:{i}")
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    domain = company.lower().split()[0].replace("'", "") + rng.choice([".com", ".net", "-land.com"])
    email = f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}" if rng.random() < 0.7 else f"{first[0].lower()}{last.lower().replace(chr(39), '')}@{domain}"
    category = rng.choices(CATEGORIES, weights=(0.22, 0.26, 0.2, 0.17, 0.15))[0]
    plan = rng.choices(PLANS, weights=(0.2, 0.4, 0.28, 0.12))[0]
    problem, product = rng.choice(PROBLEMS[category])
    names_parcel = "{parcel}" in problem
    parcel_id = rng.choice(COURSE_IDS) if names_parcel or (category == "bug" and rng.random() < 0.3) else None
    if category == "feature_request":
        priority = "low"
    elif category == "account" and "log in" not in problem:
        priority = rng.choice(["low", "normal"])
    else:
        priority = rng.choices(PRIORITIES[1:], weights=(0.45, 0.35, 0.2))[0]
    refund = category == "billing" and rng.random() < 0.6

    problem = problem.format(parcel=parcel_id, month=rng.choice(["March", "April", "May", "June"]))
    sentences = [problem[0].upper() + problem[1:] + rng.choice([".", "!", ". ", "..."]).strip()]
    if parcel_id is not None and not names_parcel:
        sentences.append(f"It happens with parcel {parcel_id}.")
    plan_said = rng.random() < 0.6
    if plan_said:
        sentences.append(rng.choice(PLAN_MENTIONS[plan]))
    cue = {"urgent": URGENT, "high": HIGH, "low": LOW}.get(priority)
    follow_up = []
    if cue and rng.random() < 0.3:  # the urgency only comes out in the follow-up
        follow_up.append(rng.choice(cue).capitalize() + ".")
    elif cue:
        sentences.append(rng.choice(cue).capitalize() + ".")
    if refund:
        (follow_up if rng.random() < 0.3 else sentences).append(rng.choice(REFUND))
    if not plan_said:
        said = rng.choice(PLAN_MENTIONS[plan])
        follow_up.append("Forgot to say: " + (said if said.startswith("I") else said[0].lower() + said[1:]))
    body = " ".join(sentences)
    signature = f"{rng.choice(CLOSINGS)}\n{first}" + (f" {last}\n{company}" if rng.random() < 0.6 else "")
    subject = rng.choice([problem.split(",")[0][:60], f"{product} problem", "help", "question", f"re: {category.replace('_', ' ')}"])
    greeting = rng.choice(GREETINGS)
    thread = f"From: {first} {last} <{email}>\nSubject: {subject}\n\n" + (greeting + "\n\n" if greeting else "") + body + "\n\n" + signature
    if follow_up:
        agent = rng.choice(["Sam", "Priya", "Jordan", "Alex"])
        thread += (f"\n\n--- reply from {agent} (LandAI Support) ---\n"
                   f"Thanks for reaching out, {first}. Could you tell us a bit more so we can prioritise this?\n\n"
                   f"--- reply from {first} {last} ---\n" + " ".join(follow_up))
    record = {"customer": f"{first} {last}", "email": email, "plan": plan, "product": product, "category": category,
              "priority": priority, "parcel_id": parcel_id, "refund_requested": refund}
    return Ticket(f"T-{10000 + i}", thread, record)


def tickets(n: int, seed: int = 0) -> list[Ticket]:
    """``n`` tickets; ``tickets(n)`` is a prefix of ``tickets(m)`` for m > n."""
    return [_one(seed, i) for i in range(n)]
