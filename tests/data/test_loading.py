"""signbridge.data.loading: the text/pose splits of the production scripts from a real-format corpus."""

import numpy as np
import pytest

from signbridge.data.loading import PoseDataArguments, load_text_pose_splits
from signbridge.data.skels import write_skels


def _corpus(folder, text):
    rng = np.random.default_rng(0)
    written = {}
    for split in ("train", "dev", "test"):  # the builder reads all three
        written[split] = rng.normal(size=(3, 50, 3))
        write_skels(
            [{"name": f"{split}/a", "text": text, "gloss": "G", "poses": written[split]}], folder, split
        )
    return written["dev"]


@pytest.mark.parametrize("hash_data_files", [True, False])
def test_skels_corpus_splits(tmp_path, monkeypatch, hash_data_files):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")  # not the user's cache
    dev_poses = _corpus(tmp_path / "d", "am tag")
    args = PoseDataArguments(
        dataset="phoenix14t_skels", data_dir=str(tmp_path / "d"), hash_data_files=hash_data_files
    )
    pairs = load_text_pose_splits(args, ("train", "dev"))
    assert [p["text"] for p in pairs["dev"]] == ["am tag"]
    assert pairs["dev"][0]["poses"].dtype == np.float32
    np.testing.assert_allclose(pairs["dev"][0]["poses"], dev_poses, atol=3e-5)  # 5 decimals of values / 3


def test_real_corpus_needs_a_data_dir():
    with pytest.raises(ValueError, match="--dataset phoenix14t_skels needs --data_dir"):
        load_text_pose_splits(PoseDataArguments(dataset="phoenix14t_skels"))
