"""The sign-language-translation pipeline: arrays, batches, .pose and .skels paths, in process (signbridge's class);
remote code is tested in tests/training/test_model_folder.py."""

from __future__ import annotations

import numpy as np
import pytest
import transformers
from nar_fixtures import tiny_backtranslator

import signbridge
from signbridge.data.synthetic import generate_corpus
from signbridge.models.cvslt import CVSLTProcessor, SignLanguageTranslationPipeline
from signbridge.training.model_folder import finish_model_folder

GENERATE = {"num_beams": 1, "max_new_tokens": 4}


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(train_size=12, dev_size=4, test_size=2, seed=5)


@pytest.fixture(scope="module")
def folder(corpus, tmp_path_factory):
    bt = tiny_backtranslator(corpus)
    path = tmp_path_factory.mktemp("translator")
    bt.model.save_pretrained(path)
    finish_model_folder(path, processor=CVSLTProcessor(bt.feature_extractor, bt.tokenizer))
    return path


def test_arrays_batches_and_files_translate_alike(corpus, folder, tmp_path):
    pytest.importorskip("pose_format")
    from signbridge.data.pose_files import write_pose_file
    from signbridge.data.skels import write_skels

    translator = signbridge.pipeline("sign-language-translation", model=folder)
    assert isinstance(translator, SignLanguageTranslationPipeline)
    poses = [np.asarray(e["poses"], dtype=np.float32) for e in corpus["dev"][:2]]
    one = translator(poses[0], **GENERATE)
    assert set(one) == {"translation_text"} and one["translation_text"]
    both = translator(poses, **GENERATE)
    assert both[0] == one and len(both) == 2
    assert translator(poses[0].tolist(), **GENERATE) == one  # nested lists
    assert translator(np.stack([poses[0], poses[0]]), **GENERATE) == [one, one]  # a batch array
    pose_file = write_pose_file(tmp_path / "a.pose", poses[0])
    assert translator(str(pose_file), **GENERATE) == one
    assert translator([pose_file, poses[1]], **GENERATE) == both
    write_skels(
        [{"name": f"n{i}", "text": "t", "gloss": "g", "poses": p} for i, p in enumerate(poses)], tmp_path, "x"
    )
    from_skels = translator(tmp_path / "x.skels", **GENERATE)  # a .skels file of two lines is a batch
    assert len(from_skels) == 2


def test_registered_with_transformers_and_errors(corpus, folder, pose_samples_dir):
    from signbridge.models.cvslt import CVSLTForConditionalGeneration

    processor = signbridge.AutoProcessor.from_pretrained(folder)
    model = CVSLTForConditionalGeneration(
        CVSLTForConditionalGeneration.config_class.from_pretrained(folder)
    ).eval()
    # a model object that was not loaded from a folder goes through transformers' registry
    translator = transformers.pipeline(
        "sign-language-translation",
        model=model,
        tokenizer=processor.tokenizer,
        feature_extractor=processor.feature_extractor,
    )
    assert type(translator) is SignLanguageTranslationPipeline
    with pytest.raises(TypeError, match=r"unknown arguments \['beams'\]"):
        translator(corpus["dev"][0]["poses"], beams=2)
    # a MediaPipe Holistic file goes through the joint maps: the same as its converted poses
    from signbridge.data.sign_input import read_sign_file

    [(_, converted)] = read_sign_file(pose_samples_dir / "mediapipe.pose")
    assert translator(pose_samples_dir / "mediapipe.pose", **GENERATE) == translator(converted, **GENERATE)
    (folder.parent / "foreign.skels").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="not a multiple of 151"):
        translator(folder.parent / "foreign.skels")
    with pytest.raises(ValueError, match=r"expected poses of shape \(frames, 50, 3\)"):
        translator(np.zeros((4, 12, 3)))
