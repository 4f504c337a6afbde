"""signbridge.utils.files.atomic_write."""

import os

import pytest

from signbridge.utils.files import atomic_write


def test_atomic_write_text_and_binary(tmp_path):
    with atomic_write(tmp_path / "a.txt", "w", encoding="utf-8") as f:
        f.write("héllo\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    with atomic_write(tmp_path / "a.txt") as f:
        f.write(b"bytes")
    assert (tmp_path / "a.txt").read_bytes() == b"bytes"
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_atomic_write_failure_keeps_old_content(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as f:
        f.write("new, half written")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_atomic_write_new_file_gets_umask_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.bin") as f:
            f.write(b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644


def test_atomic_write_refuses_folder_and_bad_mode(tmp_path):
    with pytest.raises(IsADirectoryError), atomic_write(tmp_path) as f:
        f.write(b"x")
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", "a"):
        pass
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "missing" / "x") as f:
        f.write(b"x")


def test_atomic_write_error_names_the_target_not_the_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError) as caught, atomic_write(tmp_path / "missing" / "x.pose") as f:
        f.write(b"x")
    assert caught.value.filename == str(tmp_path / "missing" / "x.pose")
    assert ".tmp" not in str(caught.value)


# ----------------------------------------------------------------------------- entry points' path checks


def test_check_output_folder(tmp_path):
    from signbridge.utils.files import check_output_folder

    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match="--out .*afile is a file, not a folder"):
        check_output_folder(tmp_path / "afile", "--out")
    with pytest.raises(NotADirectoryError, match="afile is a file, not a folder"):
        check_output_folder(tmp_path / "afile" / "sub", "--out")
    assert check_output_folder(tmp_path / "new" / "sub", "--out") == tmp_path / "new" / "sub"
    assert not (tmp_path / "new").exists()  # nothing created without create=True
    check_output_folder(tmp_path / "new" / "sub", "--out", create=True)
    assert (tmp_path / "new" / "sub").is_dir() and os.listdir(tmp_path / "new" / "sub") == []
    if os.path.isdir("/proc"):  # no one, root included, creates folders in /proc
        with pytest.raises(OSError, match="--out /proc/signbridge-x: cannot write there"):
            check_output_folder("/proc/signbridge-x", "--out", create=True)


def test_check_model_folder(tmp_path):
    import json

    from signbridge.utils.errors import UserError
    from signbridge.utils.files import check_model_folder

    folder = tmp_path / "m"
    with pytest.raises(FileNotFoundError, match="--tae .*m: no such folder"):
        check_model_folder(folder, "pose_autoencoder", "a TAE", "--tae")
    assert check_model_folder("owner/name", "cvslt", "x", allow_hub_id=True).as_posix() == "owner/name"
    with pytest.raises(FileNotFoundError):
        check_model_folder("./owner/name", "cvslt", "x", allow_hub_id=True)
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        check_model_folder(folder, "cvslt", "x")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="config.json is not valid JSON"):
        check_model_folder(folder, "cvslt", "x")
    (folder / "config.json").write_text(json.dumps({"model_type": "nar_slp"}))
    with pytest.raises(UserError, match="holds a 'nar_slp' model, not a CV-SLT model"):
        check_model_folder(folder, "cvslt", "a CV-SLT model")
    assert check_model_folder(folder, ("cvslt", "nar_slp"), "x") == folder
