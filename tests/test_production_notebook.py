"""07-production's hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant is a mistake a learner could make in one answer cell; the exercise cells
run with it (after the notebook's imports only, never its training demos) and the
named test cells must lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

RAISE_LENGTHS = 'raise ValueError(f"{len(replies)} replies for {len(tickets)} tickets")'

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "replies not stripped": ("student_set", "label = reply.strip()", "label = reply", {"student_set_tests"}),
    "case folded": ("student_set", "label = reply.strip()", "label = reply.strip().lower()", {"student_set_tests"}),
    "gold label used": ("student_set", "routing.conversation(ticket, label)", 'routing.conversation(ticket, ticket.record["category"])',
                        {"student_set_tests"}),
    "raw reply as label": ("student_set", "routing.conversation(ticket, label)", "routing.conversation(ticket, reply)", {"student_set_tests"}),
    "lengths not checked": ("student_set", RAISE_LENGTHS, "pass", {"student_set_tests"}),
    "label found as a substring": ("student_set", "if label in CATEGORIES:", "if any(c in label for c in CATEGORIES):", {"student_set_tests"}),
    "mean timing": ("cost_per_million", "statistics.median(batch_seconds)", "statistics.mean(batch_seconds)", {"cost_per_million_tests"}),
    "fastest timing": ("cost_per_million", "statistics.median(batch_seconds)", "min(batch_seconds)", {"cost_per_million_tests"}),
    "upper median": ("cost_per_million", "statistics.median(batch_seconds)", "sorted(batch_seconds)[len(batch_seconds) // 2]",
                     {"cost_per_million_tests"}),
    "batch not divided": ("cost_per_million", " / batch_size", "", {"cost_per_million_tests"}),
    "price per minute": ("cost_per_million", "/ 3600", "/ 60", {"cost_per_million_tests"}),
    "per thousand": ("cost_per_million", "1_000_000", "1_000", {"cost_per_million_tests"}),
    "batch size not checked": ("cost_per_million", "if not batch_seconds or batch_size < 1:", "if not batch_seconds:", {"cost_per_million_tests"}),
    "unknown task raises": ("route", 'adapters.get(request["task"], serve.BASE)', 'adapters[request["task"]]', {"route_tests"}),
    "unknown task dropped": ("route", "for request in requests]", 'for request in requests if request["task"] in adapters]', {"route_tests"}),
    "unknown task gets None": ("route", 'adapters.get(request["task"], serve.BASE)', 'adapters.get(request["task"])', {"route_tests"}),
    "task name returned": ("route", 'adapters.get(request["task"], serve.BASE)',
                           'request["task"] if request["task"] in adapters else serve.BASE', {"route_tests"}),
    "batch reordered": ("route", "return [", "return sorted(", {"route_tests"}),
    "task case folded": ("route", 'adapters.get(request["task"], serve.BASE)', 'adapters.get(request["task"].lower(), serve.BASE)', {"route_tests"}),
    "alarm at the floor": ("first_alarm", "/ window < floor", "/ window <= floor", {"first_alarm_tests"}),
    "first full window skipped": ("first_alarm", "range(window - 1, len(correct))", "range(window, len(correct))", {"first_alarm_tests"}),
    "alarm before a full window": ("first_alarm", "range(window - 1, len(correct))", "range(len(correct))", {"first_alarm_tests"}),
    "cumulative accuracy": ("first_alarm", "sum(correct[i - window + 1:i + 1]) / window", "sum(correct[:i + 1]) / (i + 1)", {"first_alarm_tests"}),
    "no alarm is -1": ("first_alarm", "return None", "return -1", {"first_alarm_tests"}),
    "share of the new count": ("replay_mix", "round(len(new) * replay_share / (1 - replay_share))", "round(len(new) * replay_share)",
                               {"replay_mix_tests"}),
    "truncated count": ("replay_mix", "round(len(new) * replay_share / (1 - replay_share))", "int(len(new) * replay_share / (1 - replay_share))",
                        {"replay_mix_tests"}),
    "drawn with replacement": ("replay_mix", "rng.sample(list(old), n_old)", "rng.choices(list(old), k=n_old)", {"replay_mix_tests"}),
    "not shuffled": ("replay_mix", "    rng.shuffle(mix)\n", "", {"replay_mix_tests"}),
    "shuffled with a fresh generator": ("replay_mix", "rng.shuffle(mix)", "random.Random(seed).shuffle(mix)", {"replay_mix_tests"}),
    "share of 1 allowed": ("replay_mix", "if not 0 <= replay_share < 1:", "if not 0 <= replay_share <= 1:", {"replay_mix_tests"}),
    "new list changed": ("replay_mix", "mix = list(new) + rng.sample(list(old), n_old)", "mix = new\n    mix += rng.sample(list(old), n_old)",
                         {"replay_mix_tests"}),
}


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "07-production", MUTANTS, exercises=5)
