import pytest

from ftcourse import env
from ftcourse.quiz import Question, as_text


def test_quiz_text_hides_answers_unless_asked():
    q = Question("2 + 2?", ("3", "4"), 1, "Arithmetic.")
    assert "*" not in as_text([q], answers=False) and "Arithmetic" not in as_text([q], answers=False)
    assert "* b) 4" in as_text([q])


def test_quiz_rejects_an_answer_outside_the_options():
    with pytest.raises(ValueError, match="outside"):
        Question("?", ("a",), 3, "")


def test_environment_report_names_the_course_libraries():
    report = env.report()
    for name in ["python", "torch", "transformers", "peft", "bitsandbytes", "cuda"]:
        assert name in report.index
    assert env.device() in {"cpu", "cuda"}
