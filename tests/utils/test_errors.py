"""signbridge.utils.errors: the one line a user error prints, and run_entry, the scripts' wrapper of main."""

import pytest

from signbridge.utils.errors import USER_ERROR_EXIT_CODE, UserError, run_entry, user_error_message


def test_run_entry_prints_one_line_and_exits_2(capsys):
    def main(argv):
        raise FileNotFoundError(f"data_dir {argv[0]} is not a folder")

    with pytest.raises(SystemExit) as info:
        run_entry(main, ["/nope"], prog="train_x.py")
    assert info.value.code == USER_ERROR_EXIT_CODE == 2
    assert capsys.readouterr().err == "train_x.py: error: data_dir /nope is not a folder\n"


def test_run_entry_debug_is_taken_out_of_argv_and_shows_the_traceback(capsys):
    seen = []

    def main(argv):
        seen.append(argv)
        raise UserError("bad\nvalue   here")

    with pytest.raises(SystemExit):
        run_entry(main, ["--debug", "--lr", "1"], prog="p")
    assert seen == [["--lr", "1"]]
    err = capsys.readouterr().err
    assert "Traceback" in err and "UserError" in err
    assert err.splitlines()[-1] == "p: error: bad value here"


def test_run_entry_returns_main_result_and_keeps_bugs():
    assert run_entry(lambda argv: {"argv": argv}, ["a"]) == {"argv": ["a"]}
    with pytest.raises(KeyError):
        run_entry(lambda argv: {}["x"], [])


def test_user_error_message_is_short_and_one_line():
    assert user_error_message(PermissionError(13, "Permission denied", "/x")) == "Permission denied: /x"
    long = user_error_message(ValueError("x" * 5000))
    assert len(long) == 600 and long.endswith("...")
    assert user_error_message(ValueError("")) == "ValueError"
