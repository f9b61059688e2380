"""``ftcourse drill``: interview questions in the terminal, with spaced repetition of the ones you miss."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from .common import course_root, print_table

HINTS = {"exact": "a word or two", "choice": "prompt, RAG, fine-tune, or a combination such as RAG + fine-tune",
         "numeric": "a number", "rubric": "a few sentences on one line"}


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "drill",
        help="practise interview questions in the terminal",
        description="Answer interview questions drawn from the whole course; each answer is checked (exactly, as a number "
                    "within a tolerance, or by a rubric of key points) and explained. Questions you miss come back at your "
                    "next session, the others later and later (progress is kept in a small file).",
        epilog="Answers come from the keyboard, or one per line from --answers FILE or from standard input when it is not "
               "a terminal (empty line: no answer). Stops early, keeping the progress so far, when the answers run out or "
               "on Ctrl-C / Ctrl-D.",
    )
    p.add_argument("--topic", action="append", metavar="TOPIC", help="only this topic (repeatable); --topics lists them")
    p.add_argument("--count", type=int, default=10, metavar="N", help="how many questions (default 10)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="the same seed and progress give the same questions in the same order")
    p.add_argument("--answers", metavar="FILE", help="read the answers from FILE, one per line ('-': standard input)")
    p.add_argument("--progress", type=Path, metavar="FILE", help="where progress is kept (default: drill-progress.json in your user data folder)")
    p.add_argument("--no-progress", action="store_true", help="keep no progress: every question counts as new")
    p.add_argument("--topics", action="store_true", help="list the topics and how many questions each has, then stop")
    p.add_argument("--cheat-sheet", action="store_true", help="print the cheat sheet built from every notebook's interview takeaways, then stop")
    p.set_defaults(handler=handle)


def _answers(args: argparse.Namespace) -> Iterator[str]:
    if args.answers not in (None, "-"):
        with open(args.answers, encoding="utf-8") as f:
            lines = f.read().splitlines()
        yield from lines
        return
    if args.answers == "-" or not sys.stdin.isatty():
        for line in sys.stdin:
            yield line.rstrip("\n")
        return
    while True:
        try:
            yield input("> ")
        except EOFError:
            print()
            return


def handle(args: argparse.Namespace) -> int:
    from .. import cheatsheet, interview
    from ..drill import Progress, ProgressError, check, default_progress_path, select, topics

    if args.cheat_sheet:
        print(cheatsheet.markdown(cheatsheet.collect(course_root(args) / "notebooks")), end="")
        return 0
    bank = list(interview.questions())
    known = topics(bank)
    if args.topics:
        print_table(["topic", "questions"], [[t, n] for t, n in known.items()])
        return 0
    unknown = sorted(set(args.topic or ()) - set(known))
    if unknown:
        print(f"ftcourse drill: no topic {', '.join(map(repr, unknown))}; the topics are {', '.join(known)}", file=sys.stderr)
        return 2
    if args.count < 1:
        print("ftcourse drill: --count must be at least 1", file=sys.stderr)
        return 2
    if args.answers not in (None, "-") and not Path(args.answers).is_file():
        print(f"ftcourse drill: {args.answers}: no such file", file=sys.stderr)
        return 2
    try:
        progress = Progress.load(None if args.no_progress else args.progress or default_progress_path())
    except ProgressError as exc:
        print(f"ftcourse drill: {exc}", file=sys.stderr)
        return 2
    progress.start_session()
    chosen = select(bank, progress, args.count, args.seed, args.topic)
    echo = args.answers is not None or not sys.stdin.isatty()
    answers = _answers(args)
    results = []
    for n, q in enumerate(chosen, 1):
        print(f"\n[{n}/{len(chosen)}] {q.topic} · {q.id}\n{q.ask()}\n({HINTS[q.kind]})")
        said = next(answers, None)
        if said is None:
            print(f"\nNo more answers: stopping after {len(results)} of {len(chosen)} questions.")
            break
        if echo:
            print(f"> {said}")
        result = check(q, said)
        print(("Right." if result.correct else "Not quite.") + (f" Expected: {result.expected}" if q.kind != "rubric" else ""))
        if result.detail:
            print(result.detail)
        if q.kind == "rubric":
            print(f"A model answer: {q.model_answer}")
        print(f"Why: {q.explanation}")
        results.append((q, result.correct))
        progress.record(q.id, result.correct)
        try:
            progress.save()  # after every answer: Ctrl-C keeps what was done
        except OSError as exc:
            print(f"ftcourse drill: cannot save progress to {progress.path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    right = sum(ok for _, ok in results)
    if results:
        print(f"\nScore: {right}/{len(results)} ({right / len(results):.0%})")
        by_topic: dict[str, list[int]] = {}
        for q, ok in results:
            by_topic.setdefault(q.topic, []).append(ok)
        print_table(["topic", "right", "asked"], [[t, sum(v), len(v)] for t, v in by_topic.items()])
        missed = [q.id for q, ok in results if not ok]
        if missed and progress.path:
            print(f"Missed {len(missed)}: they come back first at your next session.")
    if progress.path:
        print(f"Progress: {progress.path} (session {progress.session})")
    return 0
