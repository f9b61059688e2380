"""``ftcourse.expect.equal``: exact plain values pass, look-alikes and near misses do not."""
import pytest

from ftcourse.expect import equal


class AlwaysEqual:
    def __eq__(self, other):
        return True


class SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("value, expected", [(55, 55), (0.5, 0.5), ("a", "a"), (None, None), ([1, (2, "x")], [1, (2, "x")]),
                                             ({"a": [1], "b": None}, {"a": [1], "b": None}), (True, True)])
def test_exact_plain_values_pass(value, expected):
    equal(value, expected)


@pytest.mark.parametrize("value, expected, message", [
    (54, 55, "expected 55, got 54"),
    (55.0, 55, "expected an int, got a float"),
    (True, 1, "expected an int, got a bool"),
    (AlwaysEqual(), 55, "expected an int, got an AlwaysEqual"),
    (SneakyInt(1), 55, "expected an int, got a SneakyInt"),
    ([1, SneakyInt(2)], [1, 2], "item 1: expected an int, got a SneakyInt"),
    ([1], [1, 2], "expected 2 items, got 1"),
    ({"a": 1}, {"a": 2}, "['a']: expected 2, got 1"),
    ({SneakyInt(1): 1}, {1: 1}, "expected keys"),
])
def test_look_alikes_and_near_misses_fail_with_a_message_that_says_why(value, expected, message):
    with pytest.raises(AssertionError, match="^why: ") as failure:
        equal(value, expected, "why")
    assert message in str(failure.value)


def test_a_test_writer_comparing_non_plain_values_is_told_at_once():
    with pytest.raises(TypeError, match="plain built-in values"):
        equal(object(), object())
