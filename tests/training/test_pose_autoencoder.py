"""signbridge.training.pose_autoencoder: the TAE training entry of scripts/train_pose_autoencoder.py."""

import json
from pathlib import Path

import numpy as np
import pytest

from signbridge.models.pose_autoencoder import PoseAutoencoderModel
from signbridge.training import pose_autoencoder

CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "configs"


def test_train_script_on_embedded_corpus(tmp_path):
    config = json.loads((CONFIGS / "pose_autoencoder_synthetic.json").read_text())
    config.update(
        train_size=16,
        dev_size=8,
        window_stride=17,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        ffn_dim=64,
        latent_dim=8,
        dropout=0.0,
        num_train_epochs=1,
        max_steps=12,
        per_device_train_batch_size=16,
        learning_rate=3e-3,
        warmup_steps=0,
        logging_steps=100,
        output_dir=str(tmp_path / "tae"),
        disable_tqdm=True,
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    results = pose_autoencoder.main([str(config_path)])
    assert results["dev_loss_after"] < results["dev_loss_before"]
    assert results["fgd_x10_mean_pose_vs_dev"] > 0
    saved = json.loads((tmp_path / "tae" / "results.json").read_text())
    assert saved["train_windows"] == results["train_windows"] > 0
    model = PoseAutoencoderModel.from_pretrained(tmp_path / "tae")
    assert model.config.num_joints == 50 and model.config.joint_dim == 3
    assert len(model.config.normalization["minimum"]) == 50


def test_cut_windows():
    seqs = [np.zeros((70, 2, 3), np.float32), np.zeros((33, 2, 3), np.float32)]
    assert pose_autoencoder.cut_windows(seqs, 34, 34).shape == (2, 34, 2, 3)
    assert pose_autoencoder.cut_windows(seqs, 34, 12).shape == (4, 34, 2, 3)  # starts 0, 12, 24, 36
    # shorter sequences give no window; starts 0, 3, 6 of a 40-frame sequence, 0 of a 34-frame one
    windows = pose_autoencoder.cut_windows(
        [np.zeros((40, 2, 3)), np.ones((34, 2, 3)), np.ones((10, 2, 3))], 34, 3
    )
    assert windows.shape == (3 + 1, 34, 2, 3)
    with pytest.raises(ValueError, match="no sequence has 34 frames"):
        pose_autoencoder.cut_windows([np.zeros((10, 2, 3))], 34, 34)
