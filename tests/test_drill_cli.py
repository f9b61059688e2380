"""``ftcourse drill`` as a candidate runs it, driven by answer files and standard input."""
import json
import os
import subprocess
import sys

from command import ctrl_c_as_a_terminal_gives_it
from command import ftcourse as _ftcourse

from ftcourse import drill, interview


def ftcourse(*args, input=None, env=None, cwd=None):
    """``ftcourse drill ARGS``, in this process; the Ctrl-C test below runs the real program."""
    return _ftcourse("drill", *args, input=input, env=env, cwd=cwd)


def planned(progress_path, count, seed, topics):
    """The questions the command will ask: the library's selection, from the same progress, one session later."""
    progress = drill.Progress.load(progress_path)
    progress.start_session()
    return drill.select(list(interview.questions()), progress, count, seed, topics)


def right_answer(q):
    return drill.choice_text(q.answer) if q.kind == "choice" else q.expected_text()


def test_help_and_topics():
    result = ftcourse("--help")
    assert result.returncode == 0 and "usage: ftcourse drill" in result.stdout and "--answers FILE" in result.stdout
    result = ftcourse("--topics")
    assert result.returncode == 0 and all(t in result.stdout for t in interview.TOPICS)


def test_a_drill_from_an_answers_file_checks_explains_scores_and_keeps_progress(tmp_path):
    progress = tmp_path / "progress.json"
    questions = planned(progress, 3, 7, ["decide"])
    answers = [right_answer(questions[0]), "a database", right_answer(questions[2])]
    (tmp_path / "answers.txt").write_text("\n".join(answers) + "\n")
    result = ftcourse("--topic", "decide", "--count", "3", "--seed", "7", "--answers", str(tmp_path / "answers.txt"),
                      "--progress", str(progress))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert [line.split(" · ")[1] for line in out.splitlines() if line.startswith("[")] == [q.id for q in questions]
    assert out.count("Right.") == 2 and out.count("Not quite.") == 1 and out.count("Why: ") == 3
    assert "you named: none of the three" in out and "Score: 2/3 (67%)" in out and "session 1" in out
    saved = json.loads(progress.read_text())
    assert saved["session"] == 1 and saved["cards"][questions[1].id] == {"box": 1, "due": 2, "seen": 1, "right": 0}
    assert saved["cards"][questions[0].id] == {"box": 2, "due": 3, "seen": 1, "right": 1}

    # Next session: the missed question is due again, and comes back before any new one.
    again = ftcourse("--topic", "decide", "--count", "1", "--seed", "99", "--progress", str(progress), input="fine-tune\n")
    assert again.returncode == 0, again.stderr
    assert f"· {questions[1].id}" in again.stdout and "session 2" in again.stdout


def test_numeric_and_rubric_answers_from_standard_input(tmp_path):
    bank = {q.id: q for q in interview.questions()}
    progress = tmp_path / "p.json"
    qs = planned(progress, 2, 3, ["explain", "data"])
    answers = {q.id: (q.model_answer if q.kind == "rubric" else right_answer(q)) for q in qs}
    result = ftcourse("--topic", "explain", "--topic", "data", "--count", "2", "--seed", "3", "--answers", "-",
                      "--progress", str(progress), input="\n".join(answers[q.id] for q in qs) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Score: 2/2" in result.stdout
    assert bank["data.trained-tokens"].kind == "numeric"


def test_when_the_answers_run_out_the_drill_stops_and_keeps_what_was_answered(tmp_path):
    progress = tmp_path / "p.json"
    qs = planned(progress, 4, 1, ["decide"])
    result = ftcourse("--topic", "decide", "--count", "4", "--seed", "1", "--progress", str(progress), input=right_answer(qs[0]) + "\n")
    assert result.returncode == 0, result.stderr
    assert "No more answers: stopping after 1 of 4 questions." in result.stdout and "Score: 1/1" in result.stdout
    assert list(json.loads(progress.read_text())["cards"]) == [qs[0].id]


def test_progress_goes_to_the_user_data_folder_on_first_use(tmp_path):
    result = ftcourse("--topic", "decide", "--count", "1", input="rag\n", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ftcourse" / "drill-progress.json").is_file()
    assert f"Progress: {tmp_path / 'ftcourse' / 'drill-progress.json'}" in result.stdout


def test_no_progress_writes_nothing(tmp_path):
    result = ftcourse("--topic", "decide", "--count", "1", "--no-progress", input="rag\n", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0 and "Progress:" not in result.stdout and not any(tmp_path.iterdir())


def test_a_damaged_progress_file_stops_the_drill_with_a_clear_message_and_is_kept(tmp_path):
    progress = tmp_path / "p.json"
    progress.write_text('{"format": "ftcourse-drill-progress", "session": 2, "cards": {')
    result = ftcourse("--topic", "decide", "--count", "1", "--progress", str(progress), input="rag\n")
    assert result.returncode == 2 and result.stdout == ""
    assert str(progress) in result.stderr and "is not JSON" in result.stderr and "--no-progress" in result.stderr
    assert progress.read_text().endswith('"cards": {')


def test_bad_arguments_are_explained(tmp_path):
    result = ftcourse("--topic", "cooking")
    assert result.returncode == 2 and "no topic 'cooking'" in result.stderr and "decide" in result.stderr
    result = ftcourse("--answers", str(tmp_path / "missing.txt"), "--no-progress")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_the_cheat_sheet_has_a_section_per_notebook(root):
    result = ftcourse("--cheat-sheet", cwd=root)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (root / "notebooks").iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert result.stdout.count("\n## ") == len(names) and "LoRA" in result.stdout


def test_ctrl_c_in_the_middle_keeps_every_answer_given_so_far(tmp_path):
    import signal
    import time

    progress = tmp_path / "p.json"
    qs = planned(progress, 3, 5, ["decide"])
    proc = subprocess.Popen([sys.executable, "-m", "ftcourse", "drill", "--topic", "decide", "--count", "3", "--seed", "5",
                             "--answers", "-", "--progress", str(progress)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=ctrl_c_as_a_terminal_gives_it)
    proc.stdin.write(right_answer(qs[0]) + "\n")
    proc.stdin.flush()
    seen = ""
    while "Why:" not in seen:
        seen += proc.stdout.readline()
    for _ in range(100):  # the answer is saved right after its explanation
        if progress.exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # the drill now waits for the second answer
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    saved = json.loads(progress.read_text())
    assert list(saved["cards"]) == [qs[0].id] and saved["cards"][qs[0].id]["right"] == 1
    assert [f.name for f in tmp_path.iterdir()] == ["p.json"]
