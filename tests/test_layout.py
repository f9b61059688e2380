import pytest

from ftcourse.grading import layout


def test_root_is_found_from_inside_the_repo(root):
    assert layout.find_root(root / "lib" / "ftcourse") == root


def test_outside_a_course_the_error_says_what_to_do(tmp_path):
    with pytest.raises(layout.CourseNotFound, match="--course DIR"):
        layout.find_root(tmp_path)


def test_assignments_are_in_course_order(root):
    names = layout.assignments(root)
    assert names[0] == "00-setup"
    assert names == sorted(names)


@pytest.mark.parametrize("given", ["00-setup", "00", "0", "notebooks/00-setup/00-setup.ipynb", "solutions/00-setup/"])
def test_names_resolve_from_number_name_or_path(root, given):
    assert layout.resolve_names(root, [given]) == ["00-setup"]


def test_unknown_name_lists_the_real_ones(root):
    with pytest.raises(layout.CourseNotFound, match="00-setup"):
        layout.resolve_names(root, ["99-nothing"])
