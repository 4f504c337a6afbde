"""`signbridge translate` (signbridge/cli.py): pose files, .skels files and folders in, text out; user errors in one
line. (Kept beside tests/test_cli.py so that the translate command's tests stay together.)"""

from __future__ import annotations

import numpy as np
import pytest
from nar_fixtures import tiny_backtranslator

from signbridge.cli import main
from signbridge.data.synthetic import generate_corpus
from signbridge.models.cvslt import CVSLTProcessor
from signbridge.training.model_folder import finish_model_folder
from signbridge.utils.import_utils import is_video_available

pytest.importorskip("pose_format")


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(train_size=12, dev_size=4, test_size=2, seed=7)


@pytest.fixture(scope="module")
def translator(corpus, tmp_path_factory):
    bt = tiny_backtranslator(corpus)
    folder = tmp_path_factory.mktemp("translator")
    bt.model.save_pretrained(folder)
    finish_model_folder(folder, processor=CVSLTProcessor(bt.feature_extractor, bt.tokenizer))
    return bt, folder


def test_translate_a_folder_of_pose_and_skels_files(corpus, translator, tmp_path, capsys):
    from signbridge.data.pose_files import write_pose_file
    from signbridge.data.skels import write_skels

    bt, model_dir = translator
    poses = [np.asarray(e["poses"], dtype=np.float32) for e in corpus["dev"][:3]]
    inputs = tmp_path / "inputs"
    write_pose_file(inputs / "a.pose", poses[0])
    write_skels([{"name": "n", "text": "t", "gloss": "g", "poses": p} for p in poses[1:]], inputs, "b")
    (inputs / "notes.txt").write_text("not a sign file")
    bt.num_beams, bt.max_new_tokens = 5, 40  # the command's defaults
    expected = bt.translate(poses)

    assert main(["translate", str(inputs), "--model", str(model_dir), "--batch_size", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"{name}\t{text}" for name, text in zip(["a.pose", "b.skels:1", "b.skels:2"], expected, strict=True)
    ]

    out = tmp_path / "out" / "translations.tsv"
    assert main(["translate", str(inputs / "a.pose"), "--model", str(model_dir), "--out", str(out)]) == 0
    assert out.read_text().splitlines() == ["name\ttranslation", f"a.pose\t{expected[0]}"]
    assert "1 translations written to" in capsys.readouterr().out


def _foreign_pose_file(tmp_path):
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    from signbridge.data.pose_files import write_pose_file

    header = PoseHeader(
        0.1,
        PoseHeaderDimensions(width=100, height=100, depth=100),
        [PoseHeaderComponent("FOO", ["A", "B", "C"], [(0, 1)], [(255, 0, 0)], "XYZC")],
    )
    return write_pose_file(tmp_path / "foo.pose", np.ones((4, 3, 3), np.float32), header=header)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.pose"], "INPUT missing.pose: no such file or folder"),
        (["clip.mp4"], "video needs mediapipe, opencv: pip install 'signbridge[video]'"),
        (["a.pose", "--batch_size", "0"], "--batch_size must be at least 1"),
        (["foo.pose"], "cannot become the models' 50-joint 3D skeleton"),
    ],
)
def test_translate_user_errors_are_one_line(args, message, translator, tmp_path, capsys):
    _, model_dir = translator
    if args[0] == "clip.mp4" and is_video_available():
        pytest.skip("the video extra is installed here: the install hint is for where it is not")
    (tmp_path / "clip.mp4").write_bytes(b"\0" * 16)
    (tmp_path / "a.pose").write_bytes(b"")
    if args[0] == "foo.pose":
        args = [str(_foreign_pose_file(tmp_path))]
    else:
        args = [str(tmp_path / args[0]) if not args[0].startswith("missing") else args[0], *args[1:]]
    assert main(["translate", *args, "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("signbridge: error: ") and message in err and len(err.strip().splitlines()) == 1
    assert err.count("pip install") <= 1  # the install hint once


def test_translate_refuses_a_producer_folder(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"model_type": "nar_slp"}')
    (tmp_path / "a.pose").write_bytes(b"")
    assert main(["translate", str(tmp_path / "a.pose"), "--model", str(tmp_path)]) == 2
    assert "not a CV-SLT translator" in capsys.readouterr().err


def test_translate_a_real_mediapipe_file_through_the_joint_maps(translator, pose_samples_dir, capsys):
    from signbridge.data.sign_input import read_sign_file

    bt, model_dir = translator
    bt.num_beams, bt.max_new_tokens = 5, 40
    [(_, poses)] = read_sign_file(pose_samples_dir / "mediapipe.pose")
    assert main(["translate", str(pose_samples_dir / "mediapipe.pose"), "--model", str(model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"mediapipe.pose\t{bt.translate([poses])[0]}"]
