"""signbridge.evaluation.back_translation: the pose-input back-translator normalises like its training."""

import numpy as np
import pytest
import torch
from nar_fixtures import tiny_backtranslator

from signbridge.evaluation import back_translation

torch.set_num_threads(1)


def test_back_translator_normalises_like_training(corpus):
    bt = tiny_backtranslator(corpus)
    seq = corpus["dev"][0]["poses"]
    hyp = bt.translate([seq])
    x = torch.from_numpy(np.asarray(bt.normalizer.normalize(seq), dtype=np.float32).reshape(1, len(seq), 150))
    ids = bt.model.generate(
        input_features=x,
        attention_mask=torch.ones(1, len(seq), dtype=torch.long),
        num_beams=1,
        max_new_tokens=5,
    )
    from signbridge.training.trainer import decode_sequences

    assert hyp == decode_sequences(bt.tokenizer, ids.numpy())
    assert len(bt.translate([e["poses"] for e in corpus["dev"][:4]])) == 4  # two batches
    strided = back_translation.BackTranslator(
        model=bt.model,
        tokenizer=bt.tokenizer,
        normalizer=bt.normalizer,
        num_beams=1,
        max_new_tokens=5,
        frame_stride=2,
    )
    assert strided.translate([seq]) == bt.translate([seq[::2]])
    with pytest.raises(ValueError, match="frame_stride"):
        back_translation.BackTranslator(model=bt.model, tokenizer=bt.tokenizer, frame_stride=0)


# the last commit whose train_cvslt saved a pose-input model with pose_normalizer.json (and the demo the frame
# stride in backtranslation.json) instead of a processor
OLD_FOLDER_COMMIT = "f5a59a7"


def test_old_folder_with_pose_normalizer_json_translates_like_a_processor_folder(corpus, tmp_path):
    """A back-translator folder as the code before the processors wrote it (model saved by that commit's CV-SLT code,
    tokenizer, pose_normalizer.json, backtranslation.json) loads, its statistics and stride becoming the feature
    extractor; it translates exactly as the same model saved the new way (processor in the folder)."""
    from old_code import old_model_package

    from signbridge.data.normalization import save_pose_normalizer
    from signbridge.models.cvslt import CVSLTProcessor

    bt = tiny_backtranslator(corpus)
    old = old_model_package(
        OLD_FOLDER_COMMIT,
        "src/signbridge/models/cvslt",
        ("configuration_cvslt.py", "strict_loading.py", "modeling_cvslt.py"),
        tmp_path / "old_code",
    )
    old_folder = tmp_path / "old"
    old_model = old.modeling_cvslt.CVSLTForConditionalGeneration(
        old.configuration_cvslt.CVSLTConfig(**bt.model.config.to_diff_dict())
    )
    old_model.load_state_dict(bt.model.state_dict())
    old_model.save_pretrained(old_folder)
    bt.tokenizer.save_pretrained(old_folder)
    save_pose_normalizer(bt.normalizer, old_folder)
    (old_folder / back_translation.BACKTRANSLATION_FILE).write_text('{"frame_stride": 2}')
    assert not (old_folder / "preprocessor_config.json").exists()

    new_folder = tmp_path / "new"
    bt.model.save_pretrained(new_folder)
    strided = back_translation.BackTranslator(
        model=bt.model, tokenizer=bt.tokenizer, normalizer=bt.normalizer, frame_stride=2
    )
    CVSLTProcessor(strided.feature_extractor, bt.tokenizer).save_pretrained(new_folder)

    loaded_old = back_translation.BackTranslator.from_pretrained(old_folder, num_beams=1, max_new_tokens=5)
    loaded_new = back_translation.BackTranslator.from_pretrained(new_folder, num_beams=1, max_new_tokens=5)
    assert loaded_old.frame_stride == loaded_new.frame_stride == 2
    assert loaded_old.normalizer == loaded_new.normalizer == bt.normalizer
    sequences = [e["poses"] for e in corpus["dev"][:3]]
    expected = bt.translate([s[::2] for s in sequences])
    assert loaded_old.translate(sequences) == loaded_new.translate(sequences) == expected
    # the feature extractor is the one source: given one, normalizer and frame_stride follow it
    assert (
        back_translation.BackTranslator(
            model=bt.model, tokenizer=bt.tokenizer, feature_extractor=loaded_new.feature_extractor
        ).frame_stride
        == 2
    )
