"""Chat JSONL: the format fine-tuning data comes in, and a validator that reads it like a trainer would.

One example per line: ``{"messages": [{"role": ..., "content": ...}, ...]}``. The
assistant turns are what the model learns to write; everything before them is context.
A file is read line by line and never trusted: every problem comes back with its line
number, the message it is in and a sentence saying what to fix, and nothing in the
data (bad bytes, a 10 MB line, NaN, nesting a thousand levels deep) makes it raise.
"""
from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROLES = ("system", "user", "assistant")
EXAMPLE_KEYS = ("messages",)
MESSAGE_KEYS = ("role", "content", "weight")
MAX_LINE_BYTES = 32 * 2**20

ERROR, WARNING = "error", "warning"

# Every code the validator emits, with its severity and what it means. Codes are stable:
# scripts and graders may rely on them.
CODES: dict[str, tuple[str, str]] = {
    "unreadable_file": (ERROR, "the file is compressed, binary, or UTF-16/32 instead of UTF-8 text"),
    "no_examples": (ERROR, "the file holds no examples"),
    "line_too_long": (ERROR, f"a line longer than {MAX_LINE_BYTES // 2**20} MiB, skipped unread"),
    "not_utf8": (ERROR, "a line holds bytes that are not UTF-8"),
    "not_json": (ERROR, "a line is not one JSON value"),
    "not_object": (ERROR, "a line is JSON but not an object"),
    "duplicate_key": (ERROR, "an object names the same key twice"),
    "unknown_key": (ERROR, "a key the format does not have (a typo, or a feature this format lacks)"),
    "missing_messages": (ERROR, "no messages list"),
    "empty_messages": (ERROR, "the messages list is empty"),
    "message_not_object": (ERROR, "a message is not an object"),
    "missing_role": (ERROR, "a message without a role"),
    "unknown_role": (ERROR, f"a role other than {', '.join(ROLES)}"),
    "missing_content": (ERROR, "a message without content"),
    "bad_content_type": (ERROR, "content that is not a string"),
    "empty_content": (ERROR, "content that is empty or only whitespace"),
    "invalid_unicode": (ERROR, "content with an unpaired surrogate escape (\\ud800-\\udfff), which no tokenizer can encode"),
    "bad_weight": (ERROR, "a weight that is not 0 or 1, or a weight on a message that is not the assistant's"),
    "system_not_first": (ERROR, "a system message after the first turn"),
    "no_assistant": (ERROR, "no assistant message: nothing to learn from"),
    "last_not_assistant": (ERROR, "the conversation does not end with the assistant"),
    "bom": (WARNING, "a UTF-8 byte-order mark, which many JSON readers reject"),
    "blank_line": (WARNING, "an empty line, which many trainers reject"),
    "repeated_role": (WARNING, "two turns in a row from the same role"),
    "no_user": (WARNING, "no user message: the model learns to answer nothing"),
    "nothing_trained": (WARNING, "every assistant message has weight 0: the example teaches nothing"),
    "too_long": (WARNING, "longer than the model's context: the end, where the answer is, gets cut"),
}


@dataclass(frozen=True)
class Problem:
    code: str
    message: str  # a sentence a person can act on
    line: int | None = None  # 1-based line in the file
    index: int | None = None  # which message (0-based, as in messages[i])
    field: str | None = None  # where in the example, e.g. "messages[2].content"

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.severity} [{self.code}] {self.field + ': ' if self.field else ''}{self.message}"

    def to_dict(self) -> dict:
        return {**asdict(self), "severity": self.severity}


def _problem(code: str, message: str, index: int | None = None, field: str | None = None) -> Problem:
    return Problem(code, message, index=index, field=field)


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word.strip().lower(), list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _describe(value: object) -> str:
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kind.get(type(value), "a number")


def _show(value: object, width: int = 40) -> str:
    """A value as it may appear in a message: short, and never a 10 MB string or a deep structure."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= width else repr(value[:width]) + "..."
    return _describe(value)


def _unpaired_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate_example(obj: object) -> list[Problem]:
    """Every problem of one parsed example, in the order a reader meets them.

    A root cause is reported first and without its consequences: a misspelt key of a message
    that is close to a missing one (``contnet``) stands for that key, and the order of the turns (an assistant
    turn, a user turn, the last turn) is checked only once every message has a known role,
    so that a line needing one repair names that one repair.
    """
    if not isinstance(obj, dict):
        hint = " Write one example object per line, not an array of them." if isinstance(obj, list) else ""
        return [_problem("not_object", f"Expected an object with a 'messages' list, got {_describe(obj)}.{hint}")]
    problems = [
        _problem("unknown_key", f"Unknown key {_show(k)}: an example has only {', '.join(EXAMPLE_KEYS)}.{_did_you_mean(k, EXAMPLE_KEYS)}", field=str(k)[:40])
        for k in obj if k not in EXAMPLE_KEYS
    ]
    messages = obj.get("messages")
    if "messages" not in obj:  # said even beside a misspelt key: a line without an example is the exercise's "missing_messages"
        return problems + [_problem("missing_messages", "No 'messages' key: an example is {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}.")]
    if not isinstance(messages, list):
        return problems + [_problem("missing_messages", f"'messages' must be an array of message objects, got {_describe(messages)}.", field="messages")]
    if not messages:
        return problems + [_problem("empty_messages", "'messages' is empty: add at least a user and an assistant turn.", field="messages")]
    roles = []
    for i, m in enumerate(messages):
        problems += _validate_message(m, i)
        roles.append(m.get("role") if isinstance(m, dict) else None)
    if all(isinstance(r, str) and r in ROLES for r in roles):
        problems += _validate_order(roles, messages)
    return problems


def _misspelt(obj: dict, key: str, keys: tuple[str, ...]) -> bool:
    """Whether ``obj`` lacks ``key`` but has an unknown key that is close to it: the typo is the problem to report."""
    return any(k not in keys and _did_you_mean(k, keys) == f" Did you mean {key!r}?" for k in obj)


def _validate_message(m: object, i: int) -> list[Problem]:
    at = f"messages[{i}]"
    if not isinstance(m, dict):
        return [_problem("message_not_object", f"Message {i} is {_describe(m)}; each message is an object with 'role' and 'content'.", i, at)]
    problems = [
        _problem("unknown_key", f"Unknown key {_show(k)} in message {i}: a message has only {', '.join(MESSAGE_KEYS)}.{_did_you_mean(k, MESSAGE_KEYS)}", i, f"{at}.{str(k)[:40]}")
        for k in m if k not in MESSAGE_KEYS
    ]
    role = m.get("role")
    if "role" not in m:
        if not _misspelt(m, "role", MESSAGE_KEYS):
            problems.append(_problem("missing_role", f"Message {i} has no 'role'; give one of {', '.join(ROLES)}.", i, at))
    elif role not in ROLES:
        problems.append(_problem("unknown_role", f"Role {_show(role)} in message {i} is not one of {', '.join(ROLES)}.{_did_you_mean(role, ROLES)}", i, f"{at}.role"))
    content = m.get("content")
    if "content" not in m:
        if not _misspelt(m, "content", MESSAGE_KEYS):
            problems.append(_problem("missing_content", f"Message {i} has no 'content'; add the text of the turn.", i, at))
    elif isinstance(content, list):
        problems.append(_problem("bad_content_type", f"Content of message {i} is a list of parts; this format takes one string: join the text parts.", i, f"{at}.content"))
    elif not isinstance(content, str):
        problems.append(_problem("bad_content_type", f"Content of message {i} is {_describe(content)}; it must be a string.", i, f"{at}.content"))
    elif not content.strip():
        problems.append(_problem("empty_content", f"Content of message {i} is empty or only whitespace; write the turn or remove the message.", i, f"{at}.content"))
    elif not content.isascii() and _unpaired_surrogate(content):
        problems.append(_problem("invalid_unicode", f"Content of message {i} holds an unpaired surrogate escape such as \\ud83d, which is not text; "
                                 "re-export it so that emoji and other characters are escaped in pairs or written as UTF-8.", i, f"{at}.content"))
    if "weight" in m:
        w = m["weight"]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w not in (0, 1):
            problems.append(_problem("bad_weight", f"Weight of message {i} is {_show(w)}; it must be 0 (skip this turn) or 1 (train on it).", i, f"{at}.weight"))
        elif role != "assistant":
            problems.append(_problem("bad_weight", f"Message {i} has a weight but is not an assistant turn; only assistant turns are trained, so remove it.", i, f"{at}.weight"))
    return problems


def _validate_order(roles: list, messages: list) -> list[Problem]:
    problems = []
    for i, role in enumerate(roles):
        if role == "system" and i > 0:
            problems.append(_problem("system_not_first", f"System message at position {i}; the system prompt must be the first message, and only once.", i, f"messages[{i}]"))
        if i and role in ROLES and role == roles[i - 1]:
            problems.append(_problem("repeated_role", f"Messages {i - 1} and {i} are both {role!r}; merge them or add the missing turn between.", i, f"messages[{i}]"))
    if "assistant" not in roles:
        problems.append(_problem("no_assistant", "No assistant message: the assistant turns are what the model learns, so add the answer you want.", field="messages"))
    else:
        if roles[-1] != "assistant":
            problems.append(_problem("last_not_assistant", f"The last message is {roles[-1]!r}, not the assistant's; end on the answer the model should learn.", len(roles) - 1, f"messages[{len(roles) - 1}]"))
        trained = [m for m, r in zip(messages, roles) if r == "assistant" and m.get("weight", 1) != 0]
        if not trained:
            problems.append(_problem("nothing_trained", "Every assistant message has weight 0, so training learns nothing from this example.", field="messages"))
    if "user" not in roles:
        problems.append(_problem("no_user", "No user message: the model would learn to answer without being asked.", field="messages"))
    return problems


# ---- reading a file -------------------------------------------------------------

_MAGIC = {
    b"\x1f\x8b": "gzip-compressed: decompress it first (gunzip FILE)",
    b"PK\x03\x04": "a zip archive: unzip it first",
    b"BZh": "bzip2-compressed: decompress it first (bunzip2 FILE)",
    b"\xfd7zXZ": "xz-compressed: decompress it first (unxz FILE)",
    b"\x28\xb5\x2f\xfd": "zstd-compressed: decompress it first (unzstd FILE)",
}
_UTF16_32 = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _sniff(head: bytes) -> str | None:
    """Why these first bytes cannot be UTF-8 JSONL, or None when they might be."""
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return f"The file is {what}."
    for bom, enc in _UTF16_32.items():
        if head.startswith(bom):
            return f"The file is {enc} text; re-save it as UTF-8 (e.g. iconv -f {enc} -t UTF-8)."
    if b"\x00" in head:
        zeros = head[1::2].count(0) + head[0::2].count(0)
        if zeros * 3 >= len(head):
            return "The file looks like UTF-16 text without a byte-order mark; re-save it as UTF-8."
        return "The file holds NUL bytes: it is binary, not JSON lines."
    return None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON (write a number or null)")


@dataclass
class Line:
    """One line of a file as read: its number, the parsed example (if any) and its problems."""

    number: int
    example: object = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)


def _parse(text: str) -> tuple[bool, object, list[Problem]]:
    """(parsed?, the value, its problems) under stricter rules than Python's json: no NaN, no duplicate keys."""
    dups: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict:
        d = dict(items)
        if len(d) != len(items):
            seen: set[str] = set()
            dups.extend(k for k, _ in items if k in seen or seen.add(k))
        return d

    try:
        obj = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        hint = ""
        if "\r" in text:
            hint = " The line holds a carriage return: the file may use old Mac (CR) line ends; convert them to \\n."
        elif text.strip() in ("{", "[", "}", "]", "},", "],") or text.rstrip().endswith(("{", "[", ",")):
            hint = " The example seems to span several lines; JSONL needs each example on one line."
        return False, None, [_problem("not_json", f"Not valid JSON: {exc.msg} (column {exc.colno}).{hint}")]
    except RecursionError:
        return False, None, [_problem("not_json", "JSON nested too deeply to read; an example needs only a few levels.")]
    except ValueError as exc:  # NaN/Infinity, or an integer with thousands of digits
        why = "a number with thousands of digits, too long to read" if "digits" in str(exc) else str(exc)
        return False, None, [_problem("not_json", f"Not valid JSON: {why}.")]
    problems = [_problem("duplicate_key", f"Key {_show(k)} appears twice in one object; JSON readers keep only one of them, so remove the other.", field=k[:40]) for k in dict.fromkeys(dups)]
    return True, obj, problems


def _raw_lines(f, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the line end), or None for a line over ``max_bytes``."""
    number = 0
    while True:
        raw = f.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = f.readline(2**20)
            yield number, None
            continue
        yield number, raw.rstrip(b"\n").removesuffix(b"\r")


def read_lines(path: Path | str, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Stream a chat JSONL file: each line parsed and validated, one at a time, never raising on bad data.

    Raises OSError only when the file itself cannot be opened or read (missing, a directory, no permission).
    """
    path = Path(path)
    with path.open("rb") as f:
        why = _sniff(f.read(4096))
        if why:
            yield Line(1, None, [Problem("unreadable_file", why, line=1)])
            return
        f.seek(0)
        for number, raw in _raw_lines(f, max_line_bytes):
            yield _read_line(number, raw, max_line_bytes)


def _read_line(number: int, raw: bytes | None, max_line_bytes: int) -> Line:
    line = Line(number)
    if raw is None:
        line.problems.append(Problem("line_too_long", f"The line is longer than {max_line_bytes:,} bytes and was skipped; is it really one example?", line=number))
        return line
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        line.problems.append(Problem("bom", "The line starts with a UTF-8 byte-order mark; save the file as UTF-8 without BOM.", line=number))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex().upper()
        line.problems.append(Problem("not_utf8", f"Byte 0x{bad} at byte {exc.start + 1} is not UTF-8 (the file may be Latin-1 or Windows-1252); re-save it as UTF-8.", line=number))
        return line
    if not text.strip():
        line.problems.append(Problem("blank_line", "Blank line; remove it (one example per line, nothing between).", line=number))
        return line
    parsed, line.example, found = _parse(text)
    if parsed:
        found += validate_example(line.example)
    line.problems += [Problem(p.code, p.message, number, p.index, p.field) for p in found]
    return line


# ---- the report -----------------------------------------------------------------


@dataclass
class Report:
    """What validating a file found: every problem in line order, and counts to act on."""

    path: str
    lines: int = 0
    examples: int = 0  # lines that held an example with no error
    problems: list[Problem] = field(default_factory=list)
    token_check: str = "not checked (no tokenizer)"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        """Problem counts by code, most frequent first."""
        return dict(Counter(p.code for p in self.problems).most_common())

    def to_dict(self) -> dict:
        return {
            "path": self.path, "ok": self.ok, "lines": self.lines, "examples": self.examples,
            "errors": len(self.errors), "warnings": len(self.warnings), "token_check": self.token_check,
            "summary": {c: {"count": n, "severity": CODES[c][0]} for c, n in self.summary().items()},
            "problems": [p.to_dict() for p in self.problems],
        }

    def format(self, limit: int | None = 200) -> str:
        """The report as a person reads it: each problem on its line, then the counts by code."""
        shown = self.problems if not limit else self.problems[:limit]
        out = [f"{self.path}:{str(p).removeprefix('line ')}" if p.line else f"{self.path}: {p}" for p in shown]
        if len(shown) < len(self.problems):
            out.append(f"... and {len(self.problems) - len(shown)} more problems (see the counts below, or use --json for all).")
        if self.problems:
            out.append("")
            out += [f"{n:>7}  {CODES[c][0]:<7}  {c:<19} {CODES[c][1]}" for c, n in self.summary().items()]
        out.append(f"\n{self.path}: {_n(self.lines, 'line')}, {_n(self.examples, 'valid example')}; "
                   f"{self._tally(self.errors, 'error')}, {self._tally(self.warnings, 'warning')}; token lengths {self.token_check}.")
        return "\n".join(out)

    @staticmethod
    def _tally(problems: list[Problem], kind: str) -> str:
        """'3 errors on 2 lines': a line can hold several problems, so both counts are said."""
        lines = len({p.line for p in problems})
        return _n(len(problems), kind) + (f" on {_n(lines, 'line')}" if problems and lines != len(problems) else "")


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class AtLeast(int):
    """A token count that is only a lower bound: the text was too long to be worth tokenizing."""


TokenCounter = Callable[[list[list[dict]]], list[int]]
COURSE_TOKENIZER = "course-base"


def _length_check(tokenizer: object, max_tokens: int | None) -> tuple[TokenCounter | None, int | None, str]:
    """(counter, context, what the report says) for a tokenizer object or name; a default that cannot load is skipped, not fatal.

    A local tokenizer folder (the course model's included) is counted with ``tokenizers`` alone
    (``lengths``), which starts in a second; anything else goes through transformers.
    """
    if isinstance(tokenizer, (str, Path)):
        from . import lengths

        folder = lengths.COURSE_TOKENIZER_DIR if str(tokenizer) == COURSE_TOKENIZER else Path(tokenizer)
        try:
            fast = lengths.TokenLengths(folder)
        except (OSError, ValueError, ImportError):  # not a folder, no template, a template jinja cannot read
            fast = None
        if fast is not None and (max_tokens or fast.context):
            max_tokens = max_tokens or fast.context
            return lengths.bounded(fast, fast.widest, max_tokens), max_tokens, f"checked against a context of {max_tokens:,} tokens"
    from . import tokens

    if isinstance(tokenizer, (str, Path)):
        try:
            tokenizer = tokens.load_tokenizer(tokenizer)
        except (OSError, ValueError) as exc:  # missing files, or files transformers cannot read
            if str(tokenizer) != COURSE_TOKENIZER:
                raise
            return None, None, f"not checked (the course tokenizer could not be loaded: {str(exc).splitlines()[0]})"
    max_tokens = max_tokens or tokens.context_length(tokenizer)
    return tokens.counter(tokenizer, limit=max_tokens), max_tokens, f"checked against a context of {max_tokens:,} tokens"


def validate_file(path: Path | str, *, tokenizer: object = COURSE_TOKENIZER, max_tokens: int | None = None,
                  count_tokens: TokenCounter | None = None, batch_size: int = 1024, max_line_bytes: int = MAX_LINE_BYTES,
                  collect: list | None = None) -> Report:
    """Validate a chat JSONL file without loading it whole.

    Examples longer than the context get a ``too_long`` warning. Their tokens are
    counted through the chat template of ``tokenizer``: the course model's by
    default, else a tokenizer, a folder or hub id, or None to skip the check. The
    tokenizer is loaded only once a valid example needs it, and ``max_tokens``
    defaults to its context. ``count_tokens`` (a function from a batch of message
    lists to their token counts) replaces the tokenizer; counting runs in batches,
    which is what makes it fast. Examples without errors are appended to ``collect``
    when it is given.
    """
    report = Report(str(path))
    pending: list[tuple[int, list]] = []
    checking = count_tokens is not None or tokenizer is not None
    if count_tokens is None and tokenizer is not None:
        report.token_check = "not checked (no valid examples)"

    def flush() -> None:
        nonlocal checking, count_tokens, max_tokens
        if count_tokens is None:  # the first batch: load the tokenizer now that an example needs it
            count_tokens, max_tokens, report.token_check = _length_check(tokenizer, max_tokens)
        elif max_tokens:
            report.token_check = f"checked against a context of {max_tokens:,} tokens"
        checking = count_tokens is not None and bool(max_tokens)
        if checking:
            for (number, messages), n in zip(pending, count_tokens([m for _, m in pending])):
                if n > max_tokens:
                    report.problems.append(Problem("too_long", f"The example is {'at least ' if isinstance(n, AtLeast) else ''}{n:,} tokens; the context is {max_tokens:,}, so the end of "
                                                   "the conversation would be cut off. Shorten it or split it.", line=number))
        pending.clear()

    for line in read_lines(path, max_line_bytes):
        report.lines = line.number
        report.problems += line.problems
        if line.ok and line.example is not None:
            report.examples += 1
            if collect is not None:
                collect.append(line.example)
            if checking:
                pending.append((line.number, line.example["messages"]))
                if len(pending) >= batch_size:
                    flush()
    if checking and pending:
        flush()
    if not report.examples and not report.errors:
        report.problems.append(Problem("no_examples", "The file holds no examples; a chat JSONL file has one {\"messages\": [...]} object per line.", line=None))
    report.problems.sort(key=lambda p: (p.line or 0, -1 if p.index is None else p.index))
    return report


def read_examples(path: Path | str, **options) -> tuple[list[dict], Report]:
    """The examples of a file that have no errors, in file order, and the report on the whole file."""
    examples: list[dict] = []
    return examples, validate_file(path, collect=examples, **options)
