"""The chat JSONL validator: every check, exact line numbers, and files that try to break it."""
import gzip
import json
import tracemalloc

import pytest

from command import ftcourse
from ftcourse import chat


def msg(role, content, **extra):
    return {"role": role, "content": content, **extra}


GOOD = {"messages": [msg("system", "You write reports."), msg("user", "Summarise parcel 7."), msg("assistant", "**Parcel 7**")]}


def codes(obj):
    return sorted(p.code for p in chat.validate_example(obj))


def test_a_good_example_has_no_problem():
    assert chat.validate_example(GOOD) == []
    assert chat.validate_example({"messages": [msg("user", "q"), msg("assistant", "a", weight=1), msg("user", "q2"), msg("assistant", "a2", weight=0)]}) == []


@pytest.mark.parametrize("obj, expected", [
    ([GOOD], ["not_object"]),
    ("text", ["not_object"]),
    (None, ["not_object"]),
    ({}, ["missing_messages"]),
    ({"messages": "hi"}, ["missing_messages"]),
    ({"messages": []}, ["empty_messages"]),
    ({"messages": [msg("user", "q"), "a"]}, ["message_not_object"]),
    ({"messages": [{"content": "q"}, msg("assistant", "a")]}, ["missing_role"]),
    ({"messages": [msg("user", "q"), {"role": "assistant"}]}, ["missing_content"]),
    ({"messages": [msg("User", "q"), msg("assistant", "a")]}, ["unknown_role"]),
    ({"messages": [msg("user", "q"), msg("bot", "a")]}, ["unknown_role"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a")], "id": 3}, ["unknown_key"]),
    ({"messages": [msg("user", "q", name="x"), msg("assistant", "a")]}, ["unknown_key"]),
    ({"messages": [msg("user", 5), msg("assistant", "a")]}, ["bad_content_type"]),
    ({"messages": [msg("user", None), msg("assistant", "a")]}, ["bad_content_type"]),
    ({"messages": [msg("user", [{"type": "text", "text": "q"}]), msg("assistant", "a")]}, ["bad_content_type"]),
    ({"messages": [msg("user", "q"), msg("assistant", "")]}, ["empty_content"]),
    ({"messages": [msg("user", " \n\t"), msg("assistant", "a")]}, ["empty_content"]),
    ({"messages": [msg("user", "q")]}, ["no_assistant"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a"), msg("user", "more?")]}, ["last_not_assistant"]),
    ({"messages": [msg("user", "q"), msg("system", "s"), msg("assistant", "a")]}, ["system_not_first"]),
    ({"messages": [msg("user", "q"), msg("user", "q"), msg("assistant", "a")]}, ["repeated_role"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a", weight=2)]}, ["bad_weight"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a", weight="1")]}, ["bad_weight"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a", weight=True)]}, ["bad_weight"]),
    ({"messages": [msg("user", "q", weight=1), msg("assistant", "a")]}, ["bad_weight"]),
    ({"messages": [msg("user", "q"), msg("assistant", "a", weight=0)]}, ["nothing_trained"]),
    ({"messages": [msg("system", "s"), msg("assistant", "a")]}, ["no_user"]),
])
def test_each_check_finds_its_problem_and_nothing_else(obj, expected):
    assert codes(obj) == expected


def test_severities_follow_the_issue():
    assert {c for c, (s, _) in chat.CODES.items() if s == "warning"} >= {"repeated_role", "too_long"}
    for code in ["not_json", "not_object", "missing_messages", "unknown_role", "unknown_key", "bad_weight", "no_assistant", "last_not_assistant", "system_not_first"]:
        assert chat.CODES[code][0] == "error"


def test_problems_say_where_and_what_to_do():
    (p,) = chat.validate_example({"messages": [msg("user", "q"), {"role": "assistant", "contnet": "a", "content": "a"}]})
    assert p.code == "unknown_key" and p.index == 1 and p.field == "messages[1].contnet"
    assert "Did you mean 'content'?" in p.message
    (p,) = chat.validate_example({"messages": [msg("user", "q"), msg("Assistant ", "a")]})[:1]
    assert "Did you mean 'assistant'?" in p.message


@pytest.mark.parametrize("obj, expected", [
    ({"messages": [msg("user", "q"), {"role": "assistant", "contnet": "a"}]}, [("unknown_key", "messages[1].contnet")]),
    ({"messages": [msg("user", "q"), {"rol": "assistant", "content": "a"}]}, [("unknown_key", "messages[1].rol")]),
    ({"mesages": [msg("user", "q"), msg("assistant", "a")]}, [("unknown_key", "mesages"), ("missing_messages", None)]),
    ({"messages": [msg("user", "q"), msg("Assistant", "a")]}, [("unknown_role", "messages[1].role")]),
    ({"messages": [msg("user", "q"), msg("bot", "a"), msg("user", "more?")]}, [("unknown_role", "messages[1].role")]),
])
def test_a_root_cause_is_reported_without_its_knock_on_problems(obj, expected):
    """A misspelt key is not also a missing one; an unknown role does not also mean 'no assistant'."""
    assert [(p.code, p.field) for p in chat.validate_example(obj)] == expected


def test_once_the_root_cause_is_fixed_the_order_is_checked():
    fixed = {"messages": [msg("user", "q"), msg("assistant", "a"), msg("user", "more?")]}
    assert codes(fixed) == ["last_not_assistant"]
    assert codes({"messages": [msg("user", "q"), {"role": "assistant", "contnet": "a", "content": "a"}]}) == ["unknown_key"]
    assert codes({"messages": [msg("user", "q"), {"role": "assistant", "text": "a"}]}) == ["missing_content", "unknown_key"]


def test_a_huge_bad_value_is_not_echoed_whole():
    (p, *_) = chat.validate_example({"messages": [msg("x" * 10**6, "q"), msg("assistant", "a")]})
    assert p.code == "unknown_role" and len(p.message) < 300


def test_ten_thousand_messages_are_checked_quickly():
    turns = [msg("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(10_000)]
    assert chat.validate_example({"messages": turns}) == []
    turns[5000] = msg("tool", "x")
    assert [(p.code, p.index) for p in chat.validate_example({"messages": turns})] == [("unknown_role", 5000)]


def write(path, lines, end="\n"):
    path.write_bytes(end.join(lines).encode() + end.encode())
    return path


def line_codes(report):
    return [(p.line, p.code) for p in report.problems]


def test_line_numbers_are_one_based_and_exact(tmp_path):
    good = json.dumps(GOOD)
    path = write(tmp_path / "d.jsonl", [good, "{bad", good, "", json.dumps({"messages": []}), good])
    report = chat.validate_file(path)
    assert line_codes(report) == [(2, "not_json"), (4, "blank_line"), (5, "empty_messages")]
    assert (report.lines, report.examples, report.ok) == (6, 3, False)
    assert report.summary() == {"not_json": 1, "blank_line": 1, "empty_messages": 1}


def test_crlf_bom_and_blank_lines_are_read_not_fatal(tmp_path):
    good = json.dumps(GOOD).encode()
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\r\n" + good + b"\r\n\r\n" + good)  # no newline at the end either
    report = chat.validate_file(path)
    assert line_codes(report) == [(1, "bom"), (3, "blank_line")]
    assert report.ok and report.examples == 3 and report.lines == 4


def test_bytes_that_are_not_utf8_are_reported_with_their_position(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"messages": [{"role": "user", "content": "café"}]}'.encode("latin-1") + b"\n")
    report = chat.validate_file(path)
    assert line_codes(report) == [(2, "not_utf8")]
    assert "0xE9" in report.problems[0].message


def test_a_ten_megabyte_line_is_read_and_a_longer_one_skipped(tmp_path):
    big = json.dumps({"messages": [msg("user", "x" * 10 * 2**20), msg("assistant", "a")]})
    path = write(tmp_path / "d.jsonl", [big, json.dumps(GOOD)])
    assert chat.validate_file(path).examples == 2
    report = chat.validate_file(path, max_line_bytes=2**20)
    assert line_codes(report) == [(1, "line_too_long")] and report.examples == 1


def test_an_empty_file_has_no_examples(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"")
    assert line_codes(chat.validate_file(path)) == [(None, "no_examples")]
    path.write_bytes(b"\n\n")
    assert [c for _, c in line_codes(chat.validate_file(path))] == ["no_examples", "blank_line", "blank_line"]


@pytest.mark.parametrize("text, hint", [
    ("[" * 100_000, "nested too deeply"),
    ("1" * 5000, "thousands of digits"),
    ('{"messages": [{"role": "user", "content": NaN}]}', "NaN is not valid JSON"),
    ('{"messages": Infinity}', "Infinity is not valid JSON"),
    ("{", "span several lines"),
    ('{"messages": [1]}\r{"messages": [2]}', "carriage return"),
])
def test_json_that_python_would_choke_on_or_accept_is_an_error(tmp_path, text, hint):
    report = chat.validate_file(write(tmp_path / "d.jsonl", [text]))
    assert line_codes(report) == [(1, "not_json")] and hint in report.problems[0].message


def test_duplicate_keys_are_caught_at_any_depth(tmp_path):
    text = '{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "c"}]}'
    report = chat.validate_file(write(tmp_path / "d.jsonl", [text]))
    assert line_codes(report) == [(1, "duplicate_key")]


@pytest.mark.parametrize("data, what", [
    (gzip.compress(b'{"messages": []}\n', mtime=0), "gzip"),
    ((json.dumps(GOOD) + "\n").encode("utf-16"), "UTF-16"),
    ((json.dumps(GOOD) + "\n").encode("utf-16-le"), "UTF-16"),
    ((json.dumps(GOOD) + "\n").encode("utf-32"), "UTF-32"),
    (bytes(range(256)) * 4, "binary"),
])
def test_files_that_are_not_utf8_text_get_one_clear_error(tmp_path, data, what):
    path = tmp_path / "d.jsonl"
    path.write_bytes(data)
    report = chat.validate_file(path)
    assert line_codes(report) == [(1, "unreadable_file")] and what in report.problems[0].message


def test_validation_streams_instead_of_loading_the_file(tmp_path):
    line = json.dumps({"messages": [msg("user", "q" * 500), msg("assistant", "a" * 500)]}).encode()
    path = tmp_path / "d.jsonl"
    path.write_bytes((line + b"\n") * 20_000)  # about 20 MB
    tracemalloc.start()
    report = chat.validate_file(path, tokenizer=None)  # the reader alone; tests/test_tokens.py streams with token counts
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.examples == 20_000
    assert peak < path.stat().st_size / 10, f"validation held {peak:,} bytes for a {path.stat().st_size:,}-byte file"


def test_token_lengths_are_checked_in_batches(tmp_path):
    lines = [json.dumps({"messages": [msg("user", "w " * n), msg("assistant", "ok")]}) for n in (3, 50, 4, 60)]
    seen = []

    def count(batch):
        seen.append(len(batch))
        return [sum(len(m["content"].split()) for m in messages) for messages in batch]

    report = chat.validate_file(write(tmp_path / "d.jsonl", lines), count_tokens=count, max_tokens=20, batch_size=3)
    assert line_codes(report) == [(2, "too_long"), (4, "too_long")]
    assert seen == [3, 1] and report.ok  # a warning, not an error


def test_read_examples_keeps_the_valid_ones_in_order(tmp_path):
    a, b = GOOD, {"messages": [msg("user", "other"), msg("assistant", "answer")]}
    path = write(tmp_path / "d.jsonl", [json.dumps(a), "oops", json.dumps(b), json.dumps({"messages": []})])
    examples, report = chat.read_examples(path)
    assert examples == [a, b] and len(report.errors) == 2


def test_a_missing_file_or_a_folder_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        chat.validate_file(tmp_path / "nope.jsonl")
    with pytest.raises(IsADirectoryError):
        chat.validate_file(tmp_path)


def test_cli_reports_lines_and_exits_1_on_errors(tmp_path):
    path = write(tmp_path / "d.jsonl", [json.dumps(GOOD), "oops", json.dumps({"messages": [msg("user", "q"), msg("user", "q"), msg("assistant", "a")]})])
    result = ftcourse("data", "validate", str(path))
    assert result.returncode == 1, result.stderr
    assert f"{path}:2: error [not_json]" in result.stdout and f"{path}:3: warning [repeated_role]" in result.stdout
    assert "3 lines, 2 valid examples; 1 error, 1 warning;" in result.stdout


def test_the_totals_count_problems_and_the_lines_they_are_on(tmp_path):
    two_errors = json.dumps({"messages": [msg("user", ""), msg("assistant", "")]})
    path = write(tmp_path / "d.jsonl", [json.dumps(GOOD), two_errors, "oops", ""])
    text = chat.validate_file(path, tokenizer=None).format()
    assert text.endswith("4 lines, 1 valid example; 3 errors on 2 lines, 1 warning; token lengths not checked (no tokenizer).")


def test_cli_exits_0_on_warnings_only_and_json_is_complete(tmp_path):
    path = write(tmp_path / "d.jsonl", [json.dumps(GOOD), ""])
    result = ftcourse("data", "validate", str(path), "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["examples"] == 1
    assert report["problems"] == [{"code": "blank_line", "message": report["problems"][0]["message"], "line": 2, "index": None, "field": None, "severity": "warning"}]
    assert report["summary"] == {"blank_line": {"count": 1, "severity": "warning"}}


@pytest.mark.parametrize("make", [lambda p: p / "missing.jsonl", lambda p: p])
def test_cli_exits_2_when_the_file_cannot_be_read(tmp_path, make):
    result = ftcourse("data", "validate", str(make(tmp_path)))
    assert result.returncode == 2 and result.stdout == ""
    assert "no such file" in result.stderr or "is a directory" in result.stderr


def test_cli_help_lists_every_code_and_the_exit_status():
    result = ftcourse("data", "validate", "--help")
    assert result.returncode == 0
    assert all(code in result.stdout for code in chat.CODES) and "exit status" in result.stdout


def test_examples_built_in_python_are_checked_too():
    assert codes({1: "x", "messages": [msg("user", "q"), {**msg("assistant", "a"), 2: 0}]}) == ["unknown_key", "unknown_key"]
    assert codes({"messages": [msg(["user"], "q"), msg({"r": 1}, "a")]}) == ["unknown_role", "unknown_role"]


def test_an_unpaired_surrogate_escape_is_caught_before_a_tokenizer_chokes_on_it(tmp_path):
    line = '{"messages": [{"role": "user", "content": "smile \\ud83d please"}, {"role": "assistant", "content": "\\ud83d\\ude00 paired is fine"}]}'
    report = chat.validate_file(write(tmp_path / "d.jsonl", [line]))
    assert [(p.line, p.code, p.field) for p in report.problems] == [(1, "invalid_unicode", "messages[0].content")]
