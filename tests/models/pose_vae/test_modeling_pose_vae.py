"""Tests of PoseVAEConfig / PoseVAEModel (the LGM teacher and PGM generator of NAR-SLP)."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from old_code import old_model_package
from signbridge_blocker import run_without_signbridge
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F
from transformers import AutoModel

from signbridge.data.normalization import PoseNormalizer
from signbridge.models.pose_vae import (
    MissingNormalizationError,
    PoseVAEConfig,
    PoseVAEModel,
    PoseValidationError,
    gaussian_kl_divergence,
)


class PoseVAEModelTester:
    """Tiny configs and inputs for the pose VAE."""

    def __init__(self, num_joints=5, joint_dim=3, hidden_sizes=(16, 12), latent_dim=4, seed=0):
        self.num_joints = num_joints
        self.joint_dim = joint_dim
        self.hidden_sizes = list(hidden_sizes)
        self.latent_dim = latent_dim
        rng = np.random.default_rng(seed)
        self.pose_min = rng.uniform(-2.0, 0.0, size=(num_joints, joint_dim))
        self.pose_max = self.pose_min + rng.uniform(0.5, 3.0, size=(num_joints, joint_dim))

    def normalization(self):
        return {"minimum": self.pose_min.tolist(), "maximum": self.pose_max.tolist()}

    def get_config(self, with_stats=True, **overrides):
        kwargs = {
            "num_joints": self.num_joints,
            "joint_dim": self.joint_dim,
            "hidden_sizes": self.hidden_sizes,
            "latent_dim": self.latent_dim,
        }
        if with_stats:
            kwargs.update(normalization=self.normalization())
        kwargs.update(overrides)
        return PoseVAEConfig(**kwargs)

    def get_model(self, seed=0, **overrides):
        torch.manual_seed(seed)
        return PoseVAEModel(self.get_config(**overrides))

    def normalized_frames(self, *shape, seed=1):
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(*shape, self.num_joints, self.joint_dim, generator=generator)

    def corpus_frames(self, *shape, seed=2):
        low = torch.tensor(self.pose_min, dtype=torch.float32)
        high = torch.tensor(self.pose_max, dtype=torch.float32)
        return low + (high - low) * self.normalized_frames(*shape, seed=seed)


@pytest.fixture
def tester():
    return PoseVAEModelTester()


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """These models are tiny: one thread is several times faster than two contending ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- configuration ----


def test_config_defaults_follow_the_paper():
    config = PoseVAEConfig()
    assert config.kl_weight == 1e-4
    assert len(config.hidden_sizes) == 2  # 3 linear layers per encoder/decoder
    assert config.input_dim == 50 * 3
    assert not config.has_normalization


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"hidden_sizes": [8]}, "exactly two"),
        ({"num_joints": 0}, "num_joints"),
        ({"kl_weight": -1.0}, "kl_weight"),
        ({"normalization": {"minimum": [[0.0, 0.0, 0.0]] * 5}}, "missing keys \\['maximum'\\]"),
        ({"normalization": {"minimum": [[0.0] * 3] * 4, "maximum": [[1.0] * 3] * 4}}, "num_joints=5"),
        ({"normalization": {"minimum": [[0.0] * 2] * 5, "maximum": [[1.0] * 2] * 5}}, "joint_dim=3"),
        (
            {"normalization": {"minimum": [[1.0, 0, 0]] * 5, "maximum": [[0.0, 1, 1]] * 5}},
            "maximum < minimum",
        ),
        (
            {"normalization": {"minimum": [[0.0] * 3] * 5, "maximum": [[1.0] * 3] * 5, "min_range": -1}},
            "min_range",
        ),
        (
            {"normalization": {"minimum": [[0.0] * 3] * 5, "maximum": [[1.0] * 3] * 5, "mean": 0}},
            "unknown keys",
        ),
        ({"normalization": [[0.0] * 3] * 5}, "a dict or a PoseNormalizer"),
        # the keys of configs saved before (folded into normalization)
        ({"pose_min": [[0.0, 0.0, 0.0]] * 5, "pose_max": None}, "both pose_min and pose_max"),
        ({"pose_min": [[0.0, 0.0, 0.0]] * 4, "pose_max": [[1.0, 1.0, 1.0]] * 4}, "num_joints=5"),
        ({"pose_min": [[0.0, 0.0]] * 5, "pose_max": [[1.0, 1.0]] * 5}, "joint_dim=3"),
        ({"pose_min": [[1.0, 0.0, 0.0]] * 5, "pose_max": [[0.0, 1.0, 1.0]] * 5}, "maximum < minimum"),
        ({"pose_min": [[float("nan"), 0.0, 0.0]] * 5, "pose_max": [[1.0, 1.0, 1.0]] * 5}, "non-finite"),
        ({"min_range": 0.1}, "without normalisation statistics"),
    ],
)
def test_config_rejects_bad_values(tester, overrides, message):
    with pytest.raises(ValueError, match=message):
        tester.get_config(with_stats=False, **overrides)


def test_set_normalization_accepts_dicts_and_objects(tester):
    config = tester.get_config(with_stats=False)
    config.set_normalization({"min": tester.pose_min, "max": tester.pose_max})
    assert config.normalization == tester.normalization()

    class FakeNormalizer:
        def to_dict(self):
            return {"min": np.zeros((5, 3)).tolist(), "max": np.ones((5, 3)).tolist()}

    config.set_normalization(FakeNormalizer())
    assert config.normalization == {"minimum": [[0.0] * 3] * 5, "maximum": [[1.0] * 3] * 5}
    with pytest.raises(ValueError, match="'min' and 'max'"):
        config.set_normalization({"mean": [0.0]})


def test_set_normalization_from_pose_normalizer(tester):
    normalization = pytest.importorskip("signbridge.data.normalization")
    sequences = [tester.corpus_frames(7, seed=s).numpy() for s in range(3)]
    normalizer = normalization.PoseNormalizer.fit(sequences)
    config = tester.get_config(with_stats=False)
    config.set_normalization(normalizer)
    model = PoseVAEModel(config)
    frames = torch.from_numpy(np.concatenate(sequences))
    expected = normalizer.normalize(frames)
    torch.testing.assert_close(model.normalize(frames), torch.as_tensor(expected, dtype=torch.float32))


def test_min_range_travels_with_the_statistics(tester):
    low = tester.pose_min.copy()
    high = tester.pose_max.copy()
    high[2, 1] = low[2, 1] + 1e-3  # a joint that nearly never moves
    normalizer = PoseNormalizer(low, high, min_range=0.01)
    config = tester.get_config(with_stats=False)
    config.set_normalization(normalizer)
    assert config.normalization == {"minimum": low.tolist(), "maximum": high.tolist(), "min_range": 0.01}
    assert config.normalizer == normalizer
    # a dict without min_range keeps the current one; an explicit argument wins
    config.set_normalization({"minimum": low, "maximum": high})
    assert config.normalization["min_range"] == 0.01
    config.set_normalization({"minimum": low, "maximum": high}, min_range=0.0)
    assert "min_range" not in config.normalization
    # the model uses the rule: the near-constant coordinate is divided by 1, the others by their range
    model = PoseVAEModel(tester.get_config(normalization=normalizer.to_dict()))
    poses = tester.corpus_frames(4)
    out = model.normalize(poses)
    torch.testing.assert_close(out[..., 2, 1], poses[..., 2, 1] - float(low[2, 1]), rtol=0, atol=1e-6)
    torch.testing.assert_close(out, normalizer.normalize(poses), rtol=0, atol=0)
    torch.testing.assert_close(model.denormalize(out), poses, rtol=0, atol=1e-6)


#: the last commit whose pose VAE configs stored the statistics as pose_min / pose_max / min_range
OLD_FORMAT_COMMIT = "1652ed5"


def _old_pose_vae(tmp_path):
    return old_model_package(
        OLD_FORMAT_COMMIT,
        "src/signbridge/models/pose_vae",
        ("configuration_pose_vae.py", "modeling_pose_vae.py"),
        tmp_path / "old_code",
    )


def test_old_format_config_loads_to_the_same_normalisation(tester, tmp_path):
    """A config dict with pose_min / pose_max (/ min_range), as the code before one normalisation saved it, folds
    into ``normalization`` and normalises, reconstructs and denormalises exactly as before."""
    old = _old_pose_vae(tmp_path)
    low, high = tester.pose_min.copy(), tester.pose_max.copy()
    high[1, 0] = low[1, 0]  # never moves
    high[3, 2] = low[3, 2] + 1e-3  # nearly never moves: range 1 with min_range=0.01
    for min_range in (0.0, 0.01):
        old_config = old.configuration_pose_vae.PoseVAEConfig(
            num_joints=5,
            joint_dim=3,
            hidden_sizes=[16, 12],
            latent_dim=4,
            pose_min=low.tolist(),
            pose_max=high.tolist(),
            min_range=min_range,
        )
        saved = old_config.to_diff_dict()
        assert "pose_min" in saved and "normalization" not in saved
        assert saved["min_range"] == min_range  # the old code saved it even when 0
        config = PoseVAEConfig.from_dict(json.loads(json.dumps(saved)))
        expected = {"minimum": low.tolist(), "maximum": high.tolist()}
        if min_range:
            expected["min_range"] = min_range
        assert config.normalization == expected
        assert not any(hasattr(config, key) for key in ("pose_min", "pose_max", "min_range"))
        assert "pose_min" not in config.to_diff_dict() and config.to_diff_dict()["normalization"] == expected
        torch.manual_seed(0)
        old_model = old.modeling_pose_vae.PoseVAEModel(old_config).eval()
        model = PoseVAEModel(config).eval()
        model.load_state_dict(old_model.state_dict())
        poses = tester.corpus_frames(3, 4)
        torch.testing.assert_close(model.normalize(poses), old_model.normalize(poses), rtol=0, atol=0)
        torch.testing.assert_close(model.reconstruct(poses), old_model.reconstruct(poses), rtol=0, atol=0)
        frames = tester.normalized_frames(6)
        torch.testing.assert_close(model.denormalize(frames), old_model.denormalize(frames), rtol=0, atol=0)


def test_old_saved_folder_still_loads(tester, tmp_path):
    """A folder saved by the code before one normalisation (config with pose_min/pose_max, its code files) loads
    with signbridge and gives the old model's outputs."""
    old = _old_pose_vae(tmp_path)
    torch.manual_seed(0)
    old_model = old.modeling_pose_vae.PoseVAEModel(
        old.configuration_pose_vae.PoseVAEConfig(
            num_joints=5,
            joint_dim=3,
            hidden_sizes=[16, 12],
            latent_dim=4,
            pose_min=tester.pose_min.tolist(),
            pose_max=tester.pose_max.tolist(),
        )
    ).eval()
    folder = tmp_path / "old_vae"
    old_model.save_pretrained(folder)
    assert "pose_min" in json.loads((folder / "config.json").read_text())
    loaded = PoseVAEModel.from_pretrained(folder).eval()
    assert loaded.config.normalization == tester.normalization()
    poses = tester.corpus_frames(2, 5)
    torch.testing.assert_close(loaded.reconstruct(poses), old_model.reconstruct(poses), rtol=0, atol=0)
    # saved again, it is in the one format
    loaded.save_pretrained(tmp_path / "again")
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["normalization"] == tester.normalization() and "pose_min" not in again


# ---- forward, shapes and losses ----


def test_forward_shapes_single_frames_and_sequences(tester):
    model = tester.get_model()
    frames = tester.normalized_frames(6)
    out = model(frames)
    assert out.reconstruction.shape == (6, 5, 3)
    assert out.mu.shape == out.logvar.shape == out.latents.shape == (6, 4)
    assert ((out.reconstruction > 0) & (out.reconstruction < 1)).all()

    sequences = tester.normalized_frames(2, 7)
    out = model(sequences, pose_mask=torch.ones(2, 7))
    assert out.reconstruction.shape == (2, 7, 5, 3)
    assert out.mu.shape == (2, 7, 4)


def test_loss_parts_finite_and_match_closed_forms(tester):
    model = tester.get_model().eval()
    frames = tester.normalized_frames(9)
    out = model(frames)
    for part in (out.loss, out.reconstruction_loss, out.kl_loss):
        assert part.dim() == 0 and torch.isfinite(part)
    # eval mode decodes the posterior mean
    torch.testing.assert_close(out.latents, out.mu)
    expected_bce = F.binary_cross_entropy(out.reconstruction, frames)
    torch.testing.assert_close(out.reconstruction_loss, expected_bce, rtol=1e-5, atol=1e-6)
    reference_kl = kl_divergence(Normal(out.mu, torch.exp(0.5 * out.logvar)), Normal(0.0, 1.0)).sum(-1).mean()
    torch.testing.assert_close(out.kl_loss, reference_kl, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.loss, out.reconstruction_loss + 1e-4 * out.kl_loss)


def test_gaussian_kl_matches_torch_distributions():
    generator = torch.Generator().manual_seed(3)
    mu = torch.randn(4, 6, generator=generator)
    logvar = torch.randn(4, 6, generator=generator)
    reference = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl_divergence(mu, logvar), reference, rtol=1e-5, atol=1e-6)
    assert torch.allclose(gaussian_kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_mask_restricts_losses_to_real_frames(tester):
    model = tester.get_model().eval()
    sequences = tester.normalized_frames(2, 5)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
    masked = model(sequences, pose_mask=mask)
    real = torch.cat([sequences[0, :3], sequences[1, :2]])
    direct = model(real)
    torch.testing.assert_close(masked.reconstruction_loss, direct.reconstruction_loss)
    torch.testing.assert_close(masked.kl_loss, direct.kl_loss)
    # changing padded frames changes nothing
    changed = sequences.clone()
    changed[0, 3:] = 0.5
    torch.testing.assert_close(model(changed, pose_mask=mask).loss, masked.loss)
    with pytest.raises(ValueError, match="pose_mask has shape"):
        model(sequences, pose_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="no frame"):
        model(sequences, pose_mask=torch.zeros(2, 5))


def test_training_mode_samples_and_encode_is_deterministic(tester):
    model = tester.get_model().train()
    frames = tester.normalized_frames(8)
    out = model(frames)
    assert not torch.allclose(out.latents, out.mu)
    torch.testing.assert_close(model.encode(frames), model.encode(frames), rtol=0, atol=0)
    torch.testing.assert_close(model.encode(frames), out.mu, rtol=0, atol=0)
    decoded = model.decode(model.encode(frames))
    assert decoded.shape == frames.shape
    with pytest.raises(ValueError, match="latent_dim=4"):
        model.decode(torch.zeros(3, 5))


def test_reconstruction_loss_falls_on_a_fixed_batch(tester):
    model = tester.get_model()
    frames = tester.normalized_frames(32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.eval()
    with torch.no_grad():
        before = model(frames).reconstruction_loss.item()
    model.train()
    torch.manual_seed(0)
    for _ in range(150):
        optimizer.zero_grad()
        model(frames).loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = model(frames).reconstruction_loss.item()
        mse_after = F.mse_loss(model.decode(model.encode(frames)), frames).item()
    mse_mean = F.mse_loss(frames.mean(0, keepdim=True).expand_as(frames), frames).item()
    assert after < before - 0.02
    assert mse_after < 0.5 * mse_mean


def test_return_loss_switch_and_trainer_eval_loss(tester, tmp_path):
    from transformers import Trainer, TrainingArguments

    model = tester.get_model()
    frames = tester.normalized_frames(8)
    out = model.eval()(frames, return_loss=False)
    assert out.loss is None and out.reconstruction.shape == frames.shape
    rows = [{"poses": frame} for frame in frames]

    def collate(batch):
        return {"poses": torch.stack([row["poses"] for row in batch])}

    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        max_steps=2,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows, data_collator=collate)
    trainer.train()
    metrics = trainer.evaluate()
    with torch.no_grad():
        expected = model.eval()(frames).loss.item()
    assert metrics["eval_loss"] == pytest.approx(expected, rel=1e-5)


# ---- normalisation ----


def test_denormalize_inverts_normalize(tester):
    model = tester.get_model()
    poses = tester.corpus_frames(3, 4)
    normalized = model.normalize(poses)
    assert normalized.min() >= 0 and normalized.max() <= 1
    torch.testing.assert_close(model.denormalize(normalized), poses, rtol=0, atol=1e-6)
    frames = tester.normalized_frames(10)
    torch.testing.assert_close(model.normalize(model.denormalize(frames)), frames, rtol=0, atol=1e-6)
    # the statistics map to 0 and 1 exactly
    low = torch.tensor(tester.pose_min, dtype=torch.float64)
    high = torch.tensor(tester.pose_max, dtype=torch.float64)
    assert torch.equal(model.normalize(low), torch.zeros_like(low))
    torch.testing.assert_close(model.normalize(high), torch.ones_like(high), rtol=0, atol=1e-12)
    # a coordinate that never moves does not divide by zero
    constant = tester.get_model(
        normalization={"minimum": tester.pose_min.tolist(), "maximum": tester.pose_min.tolist()}
    )
    out = constant.normalize(poses)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(constant.denormalize(out), poses, rtol=0, atol=1e-6)


def test_reconstruct_round_trips_in_corpus_coordinates(tester):
    model = tester.get_model()
    poses = tester.corpus_frames(6)
    out = model.reconstruct(poses)
    expected = model.denormalize(model.decode(model.encode(model.normalize(poses))))
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    low = torch.tensor(tester.pose_min, dtype=torch.float32)
    high = torch.tensor(tester.pose_max, dtype=torch.float32)
    assert ((out >= low - 1e-6) & (out <= high + 1e-6)).all()


# ---- bad input ----


def test_missing_statistics_raise(tester):
    model = tester.get_model(with_stats=False)
    with pytest.raises(MissingNormalizationError, match="no normalisation statistics"):
        model.normalize(tester.corpus_frames(2))
    with pytest.raises(MissingNormalizationError):
        model.denormalize(tester.normalized_frames(2))
    with pytest.raises(MissingNormalizationError):
        model.reconstruct(tester.corpus_frames(2))


def test_bad_poses_raise(tester):
    model = tester.get_model()
    with pytest.raises(PoseValidationError, match="6 joints per frame, the model expects 5"):
        model(torch.rand(3, 6, 3))
    with pytest.raises(PoseValidationError, match="joint dimension 2, the model expects 3"):
        model.normalize(torch.rand(3, 5, 2))
    frames = tester.normalized_frames(3)
    frames[1, 2, 0] = float("nan")
    with pytest.raises(PoseValidationError, match="NaN"):
        model(frames)
    with pytest.raises(PoseValidationError, match="NaN"):
        model.encode(frames)
    with pytest.raises(PoseValidationError, match="must have shape"):
        model(torch.rand(5))
    assert issubclass(PoseValidationError, ValueError) and issubclass(MissingNormalizationError, ValueError)


# ---- saving, loading, remote code ----


def test_save_load_identical(tester, tmp_path):
    model = tester.get_model().eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "pose_vae"
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_pose_vae.PoseVAEConfig",
        "AutoModel": "modeling_pose_vae.PoseVAEModel",
    }
    loaded = PoseVAEModel.from_pretrained(tmp_path).eval()
    assert saved["normalization"] == tester.normalization() and "pose_min" not in saved
    assert loaded.config.normalization == model.config.normalization
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    frames = tester.normalized_frames(4)
    torch.testing.assert_close(loaded(frames).reconstruction, model(frames).reconstruction, rtol=0, atol=0)
    auto = AutoModel.from_pretrained(tmp_path, trust_remote_code=True)
    torch.testing.assert_close(auto.encode(frames), model.encode(frames), rtol=0, atol=0)


BLOCKED_SCRIPT = textwrap.dedent(
    """

    import torch
    from transformers import AutoModel

    folder, inputs, result = sys.argv[1:4]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    assert not any(m.startswith("signbridge") for m in sys.modules), "signbridge got imported"
    frames = torch.load(inputs)
    with torch.no_grad():
        out = model(frames)
    torch.save({"reconstruction": out.reconstruction, "mu": out.mu, "class": type(model).__name__,
                "corpus": model.denormalize(out.reconstruction)}, result)
    """
)


def test_remote_code_loads_without_signbridge(tester, tmp_path):
    model = tester.get_model().eval()
    folder = tmp_path / "vae"
    model.save_pretrained(folder)
    assert sorted(p.name for p in folder.glob("*.py")) == [
        "configuration_pose_vae.py",
        "modeling_pose_vae.py",
        "pose_normalization.py",
        "strict_loading.py",
    ]
    assert "import signbridge" not in (folder / "pose_normalization.py").read_text()
    frames = tester.normalized_frames(4)
    torch.save(frames, tmp_path / "inputs.pt")
    run_without_signbridge(BLOCKED_SCRIPT, [folder, tmp_path / "inputs.pt", tmp_path / "out.pt"], tmp_path)
    result = torch.load(tmp_path / "out.pt")
    assert result["class"] == "PoseVAEModel"
    with torch.no_grad():
        out = model(frames)
    torch.testing.assert_close(result["reconstruction"], out.reconstruction, rtol=0, atol=0)
    torch.testing.assert_close(result["mu"], out.mu, rtol=0, atol=0)
    torch.testing.assert_close(result["corpus"], model.denormalize(out.reconstruction), rtol=0, atol=0)


# ---- real poses ----


def _read_skels_frames(data_dir: Path, split: str) -> np.ndarray:
    """All frames of a Progressive Transformers split as (N, 50, 3), via signbridge's reader when present."""
    try:
        from signbridge.data.skels import read_skels
    except ImportError:  # the reader lands separately; parse the documented format meanwhile
        read_skels = None
    if read_skels is not None:
        return np.concatenate(
            [np.asarray(ex["poses"], dtype=np.float32) for ex in read_skels(data_dir, split)]
        )
    sequences = []
    for line in (data_dir / f"{split}.skels").read_text().splitlines():
        values = np.array(line.split(), dtype=np.float32)
        frames = values.reshape(-1, 151)[:, :150]  # drop the counter column
        sequences.append(frames.reshape(-1, 50, 3) * 3.0)
    return np.concatenate(sequences)


def test_vae_trained_on_real_frames_beats_the_mean_pose(skels_dir):
    train = torch.from_numpy(_read_skels_frames(skels_dir, "train"))
    dev = torch.from_numpy(_read_skels_frames(skels_dir, "dev"))
    assert train.shape[1:] == (50, 3) and len(train) > 500 and len(dev) > 400
    config = PoseVAEConfig(
        num_joints=50,
        joint_dim=3,
        hidden_sizes=[256, 128],
        latent_dim=32,
        normalization={"minimum": train.amin(0).tolist(), "maximum": train.amax(0).tolist()},
    )
    torch.manual_seed(0)
    model = PoseVAEModel(config)
    normalized = model.normalize(train)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(400):
        batch = normalized[torch.randint(0, len(normalized), (128,))]
        optimizer.zero_grad()
        model(batch).loss.backward()
        optimizer.step()
    reconstruction = model.reconstruct(dev)
    vae_error = (reconstruction - dev).abs().mean().item()
    mean_error = (train.mean(0, keepdim=True) - dev).abs().mean().item()
    assert vae_error < 0.6 * mean_error, (vae_error, mean_error)


@pytest.mark.parametrize(
    "field, value, kind",
    [
        ("latent_dim", "64", "an integer"),
        ("num_joints", 50.0, "an integer"),
        ("joint_dim", True, "an integer"),
        ("kl_weight", "1e-4", "a number"),
        ("initializer_gain", "1", "a number"),
    ],
)
def test_config_refuses_a_non_number_naming_the_field(field, value, kind):
    with pytest.raises(ValueError, match=rf"PoseVAEConfig\.{field} must be {kind}, got "):
        PoseVAEConfig(**{field: value})
    with pytest.raises(ValueError, match=r"hidden_sizes must be a list of integers"):
        PoseVAEConfig(hidden_sizes=["512", 256])
