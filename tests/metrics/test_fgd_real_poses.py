"""FGD on the real PHOENIX14T skeleton sample (Progressive Transformers format)."""

import numpy as np
import pytest
import torch

pytest.importorskip("evaluate", reason="FGD needs the metrics extra (evaluate)")

from signbridge.metrics import frechet_distance  # noqa: E402
from signbridge.metrics.fgd import FGD  # noqa: E402
from signbridge.models.pose_autoencoder import PoseAutoencoderConfig, PoseAutoencoderModel  # noqa: E402

# five sequences per split: most length buckets have fewer windows than features (NaN, with a warning)
pytestmark = pytest.mark.filterwarnings("ignore:FGD. too few windows:UserWarning")


@pytest.fixture
def real_poses(skels_dir):
    skels = pytest.importorskip("signbridge.data.skels", reason="the skels reader is not written yet")
    return {split: [ex["poses"] for ex in skels.read_skels(skels_dir, split)] for split in ("train", "dev")}


def test_fgd_windows_on_real_sequences(real_poses):
    train, dev = real_poses["train"], real_poses["dev"]
    assert [len(s) for s in train] == [86, 126, 168, 185, 71]
    assert [len(s) for s in dev] == [42, 111, 148, 142, 93]
    stacked = np.concatenate(train).astype(np.float64)
    torch.manual_seed(0)
    config = PoseAutoencoderConfig(
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        ffn_dim=64,
        latent_dim=4,
        dropout=0.0,
        normalization={"minimum": stacked.min(0).tolist(), "maximum": stacked.max(0).tolist()},
    )
    tae = PoseAutoencoderModel(config).eval()
    result = FGD(model=tae).compute(predictions=dev, references=train)
    assert result["num_windows_predictions"] == 1 + 3 + 4 + 4 + 2
    assert result["num_windows_references"] == 2 + 3 + 4 + 5 + 2
    assert result["short_sequences_predictions"] == 0
    assert result["unused_frames_references"] == 18 + 24 + 32 + 15 + 3
    assert result["num_windows_by_length"]["50-100"] == [2, 2 + 2]
    assert result["num_windows_by_length"]["150-200"] == [0, 4 + 5]
    windows = [s[i * 34 : (i + 1) * 34] for s in dev for i in range(len(s) // 34)]
    ref_windows = [s[i * 34 : (i + 1) * 34] for s in train for i in range(len(s) // 34)]
    expected = frechet_distance(
        tae.encode_windows(np.stack(windows)).double().numpy(),
        tae.encode_windows(np.stack(ref_windows)).double().numpy(),
    )
    assert result["fgd"] == pytest.approx(expected, rel=1e-12)
    assert result["fgd"] > 0
    assert FGD(model=tae).compute(predictions=train, references=train)["fgd"] == pytest.approx(0.0, abs=1e-7)
