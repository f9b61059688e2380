"""03-mechanics' hidden tests catch the plausible wrong answers, not only the blank ones.

Each mutant below is a mistake a learner could make in one answer cell. The
exercise cells of the solution notebook run with that mistake in one kernel,
and the named test cells must then lose their points, scored as nbgrader does.
"""
from mutants import mutant_tests

LABELS, LOSS, STEP, SCHEDULE, STOPPING, DIAGNOSIS = (
    "assistant_labels", "masked_cross_entropy", "training_step", "warmup_cosine", "early_stopping", "diagnose")

# name: (answer cell, text in it, the mistake, test cells that must fail)
MUTANTS = {
    "end token left out of the reply": (
        LABELS,
        "labels[t] = input_ids[t]\n                if input_ids[t] == tokenizer.eos_token_id:\n                    break",
        "if input_ids[t] == tokenizer.eos_token_id:\n                    break\n                labels[t] = input_ids[t]",
        {"assistant_labels_tests"}),
    "newline after the end token labelled": (
        LABELS, "                    break\n", "                    labels[t + 1] = input_ids[t + 1]\n                    break\n",
        {"assistant_labels_tests"}),
    "role header labelled": (LABELS, "add_generation_prompt=True", "add_generation_prompt=False", {"assistant_labels_tests"}),
    "only the last reply labelled": (
        LABELS, "for i, message in enumerate(messages):", "for i, message in list(enumerate(messages))[-1:]:",
        {"assistant_labels_tests"}),
    "the template's generation markers relied on": (
        LABELS, "    input_ids = token_ids(messages)\n",
        "    encoded = encode_chat(tokenizer, messages)\n    return encoded['input_ids'], encoded['labels']\n",
        {"assistant_labels_tests"}),
    "labels shifted in the data": (LABELS, "labels[t] = input_ids[t]", "labels[t - 1] = input_ids[t]", {"assistant_labels_tests"}),
    "loss not shifted": (LOSS, "predictions = logits[:, :-1]\n    targets = labels[:, 1:]",
                         "predictions = logits\n    targets = labels", {"masked_cross_entropy_tests"}),
    "label shifted twice": (LOSS, "predictions = logits[:, :-1]\n    targets = labels[:, 1:]",
                            "predictions = logits[:, :-2]\n    targets = labels[:, 2:]", {"masked_cross_entropy_tests"}),
    "pad counted in the mean": (
        LOSS, "ignore_index=-100)",
        "ignore_index=-100, reduction='sum') / targets.numel()", {"masked_cross_entropy_tests"}),
    "mean of per-row means": (
        LOSS,
        "return F.cross_entropy(predictions.reshape(-1, predictions.shape[-1]), targets.reshape(-1), ignore_index=-100)",
        "return torch.stack([F.cross_entropy(p, t, ignore_index=-100) for p, t in zip(predictions, targets)]).mean()",
        {"masked_cross_entropy_tests"}),
    "gradients never cleared": (STEP, "    optimizer.zero_grad()\n", "", {"training_step_tests"}),
    "gradients cleared after backward": (
        STEP, "    optimizer.zero_grad()\n    loss = model(**batch).loss\n    loss.backward()\n",
        "    loss = model(**batch).loss\n    loss.backward()\n    optimizer.zero_grad()\n", {"training_step_tests"}),
    "no clipping": (STEP, "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", "", {"training_step_tests"}),
    "clipping after the step": (
        STEP, "    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n",
        "    optimizer.step()\n    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", {"training_step_tests"}),
    "schedule never stepped": (STEP, "    scheduler.step()\n", "", {"training_step_tests"}),
    "schedule stepped before the optimizer": (
        STEP, "    optimizer.step()\n    scheduler.step()\n", "    scheduler.step()\n    optimizer.step()\n", {"training_step_tests"}),
    "the loss tensor returned": (STEP, "return loss.item()", "return loss", {"training_step_tests"}),
    "warm-up off by one": (SCHEDULE, "return (step + 1) / warmup_steps", "return step / warmup_steps", {"warmup_cosine_tests"}),
    "cosine off by one": (SCHEDULE, "progress = (step - warmup_steps) /", "progress = (step - warmup_steps + 1) /",
                          {"warmup_cosine_tests"}),
    "cosine over the whole run": (SCHEDULE, "progress = (step - warmup_steps) / max(1, total - warmup_steps)",
                                  "progress = step / total", {"warmup_cosine_tests"}),
    "cosine without the half": (SCHEDULE, "0.5 * (1 + math.cos(math.pi * progress))", "math.cos(math.pi * progress)",
                                {"warmup_cosine_tests"}),
    "best over every epoch, patience ignored": (
        STOPPING, "    best, waited = 0, 0\n", "    return min(range(len(losses)), key=losses.__getitem__), None\n",
        {"early_stopping_tests"}),
    "a tie counts as an improvement": (STOPPING, "if losses[i] < losses[best] - min_delta:",
                                       "if losses[i] <= losses[best] - min_delta:", {"early_stopping_tests"}),
    "patience off by one": (STOPPING, "if waited == patience:", "if waited > patience:", {"early_stopping_tests"}),
    "the wait never restarts": (STOPPING, "best, waited = i, 0", "best = i", {"early_stopping_tests"}),
    "min_delta ignored": (STOPPING, "if losses[i] < losses[best] - min_delta:", "if losses[i] < losses[best]:",
                          {"early_stopping_tests"}),
    "epoch 0 never a candidate": (STOPPING, "best, waited = 0, 0", "best, waited = 1, 0", {"early_stopping_tests"}),
    "overfitting checked before divergence": (
        DIAGNOSIS,
        '    if val[-1] > val[0]:\n        return "too_high_lr"\n    if val[-1] > 1.05 * min(val):\n        return "overfitting"\n',
        '    if val[-1] > 1.05 * min(val):\n        return "overfitting"\n    if val[-1] > val[0]:\n        return "too_high_lr"\n',
        {"diagnose_tests"}),
    "masking read at the end of the run": (DIAGNOSIS, "abs(train[0] - val[0])", "abs(train[-1] - val[-1])", {"diagnose_tests"}),
    "an absolute threshold for masking": (DIAGNOSIS, "> 0.2 * val[0]", "> 0.2", {"diagnose_tests"}),
    "divergence judged against the minimum": (DIAGNOSIS, "if val[-1] > val[0]:", "if val[-1] > min(val):", {"diagnose_tests"}),
    "any rise counts as overfitting": (DIAGNOSIS, "1.05 * min(val)", "min(val)", {"diagnose_tests"}),
}


grade, test_the_solution_earns_every_point, test_a_plausible_mistake_loses_points = mutant_tests(
    "03-mechanics", MUTANTS, exercises=6)
