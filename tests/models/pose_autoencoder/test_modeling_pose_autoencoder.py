import json
import textwrap

import numpy as np
import pytest
import torch
from old_code import old_model_package
from signbridge_blocker import run_without_signbridge

from signbridge.models.pose_autoencoder import (
    PoseAutoencoderConfig,
    PoseAutoencoderModel,
    PoseAutoencoderOutput,
    PoseLayoutError,
)


class PoseAutoencoderModelTester:
    def __init__(self, batch_size=3, num_joints=5, joint_dim=3, window_size=34, latent_dim=8):
        self.batch_size = batch_size
        self.num_joints = num_joints
        self.joint_dim = joint_dim
        self.window_size = window_size
        self.latent_dim = latent_dim

    def get_config(self, **overrides):
        rng = np.random.default_rng(0)
        low = rng.normal(size=(self.num_joints, self.joint_dim)) - 2
        kwargs = {
            "num_joints": self.num_joints,
            "joint_dim": self.joint_dim,
            "window_size": self.window_size,
            "d_model": 32,
            "encoder_layers": 2,
            "decoder_layers": 1,
            "num_attention_heads": 4,
            "ffn_dim": 64,
            "latent_dim": self.latent_dim,
            "loss_type": "mse",  # the hand computations below are MSE; the default (BCE) has its own tests
            "dropout": 0.0,
            "normalization": {"minimum": low.tolist(), "maximum": (low + 4).tolist()},
        }
        kwargs.update(overrides)
        return PoseAutoencoderConfig(**kwargs)

    def poses(self, n=None, seed=0):
        g = torch.Generator().manual_seed(seed)
        n = n or self.batch_size
        return torch.randn(n, self.window_size, self.num_joints, self.joint_dim, generator=g)


@pytest.fixture
def tester():
    return PoseAutoencoderModelTester()


def _model(config, seed=0):
    torch.manual_seed(seed)
    return PoseAutoencoderModel(config).eval()


def test_output_shapes_and_loss(tester):
    model = _model(tester.get_config())
    poses = tester.poses()
    out = model(poses)
    assert isinstance(out, PoseAutoencoderOutput)
    assert out.reconstruction.shape == poses.shape
    assert out.features.shape == (3, 8)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    expected = ((out.reconstruction - model.normalize_poses(poses)) ** 2).mean()
    torch.testing.assert_close(out.loss, expected)
    assert out.to_tuple()[0] is out.loss
    tuple_out = model(poses, return_dict=False)
    torch.testing.assert_close(tuple_out[0], out.loss)


def test_frame_mask_excludes_frames(tester):
    model = _model(tester.get_config())
    poses = tester.poses()
    mask = torch.ones(3, 34, dtype=torch.long)
    mask[:, 20:] = 0
    out = model(poses, frame_mask=mask)
    changed = poses.clone()
    changed[:, 20:] = 100.0  # masked frames: neither features nor loss may change
    out2 = model(changed, frame_mask=mask)
    torch.testing.assert_close(out.features, out2.features)
    torch.testing.assert_close(out.loss, out2.loss)
    diff = (out.reconstruction - out.normalized_poses) ** 2
    torch.testing.assert_close(out.loss, diff[:, :20].mean())


def test_normalization_round_trip(tester):
    model = _model(tester.get_config())
    poses = tester.poses().double()
    normalized = model.normalize_poses(poses)
    torch.testing.assert_close(model.denormalize_poses(normalized), poses, rtol=0, atol=1e-12)
    low = torch.tensor(model.config.normalization["minimum"], dtype=torch.float64)
    torch.testing.assert_close(model.normalize_poses(low[None]), torch.zeros_like(low[None]))


def test_encode_windows_matches_forward_features(tester):
    model = _model(tester.get_config())
    model.train()  # encode_windows switches dropout off itself and restores the mode
    poses = tester.poses(n=7)
    features = model.encode_windows(poses.numpy(), batch_size=3)
    assert features.shape == (7, 8) and features.dtype == torch.float32
    assert model.training
    model.eval()
    torch.testing.assert_close(features, model(poses).features)
    assert model.encode_windows(np.zeros((0, 34, 5, 3))).shape == (0, 8)


def test_bce_loss(tester):
    model = _model(tester.get_config(loss_type="bce"))
    poses = tester.poses()
    out = model(poses)
    assert out.reconstruction.min() >= 0 and out.reconstruction.max() <= 1
    assert torch.isfinite(out.loss)


def test_loss_falls_on_fixed_batch(tester):
    model = _model(tester.get_config(encoder_layers=1))
    model.train()
    poses = tester.poses(n=4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model(poses).loss.item()
    for _ in range(15):
        optimizer.zero_grad()
        loss = model(poses).loss
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 33, 5, 3), "window_size"),
        ((2, 34, 4, 3), "num_joints"),
        ((2, 34, 5, 2), "joint_dim"),
        ((34, 5, 3), "shape"),
    ],
)
def test_wrong_layout(tester, shape, message):
    model = _model(tester.get_config())
    with pytest.raises(PoseLayoutError, match=message):
        model(torch.zeros(shape))


def test_nan_poses(tester):
    model = _model(tester.get_config())
    poses = tester.poses()
    poses[0, 3, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model.encode_windows(poses)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"d_model": 30}, "multiple"),
        ({"loss_type": "l1"}, "loss_type"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"joint_names": ["a", "b"]}, "joint_names"),
        ({"normalization": {"minimum": [[0, 0, 0]] * 5}}, "'maximum'"),
        ({"normalization": {"minimum": [[0, 0]] * 5, "maximum": [[1, 1]] * 5}}, "5 x 3"),
    ],
)
def test_config_validation(tester, overrides, message):
    with pytest.raises(ValueError, match=message):
        tester.get_config(**overrides)


def test_save_load_identical(tester, tmp_path):
    model = _model(tester.get_config(joint_names=[f"j{i}" for i in range(5)]))
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_pose_autoencoder.PoseAutoencoderModel"
    assert config["normalization"] == model.config.normalization
    loaded = PoseAutoencoderModel.from_pretrained(tmp_path).eval()
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    poses = tester.poses()
    torch.testing.assert_close(model(poses).features, loaded(poses).features, rtol=0, atol=0)
    assert loaded.config.joint_names == model.config.joint_names


REMOTE_SCRIPT = textwrap.dedent(
    """
    import torch
    from transformers import AutoModel
    folder, poses_path = sys.argv[1], sys.argv[2]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    poses = torch.load(poses_path)
    torch.save(model.encode_windows(poses), poses_path + ".out")
    print("loaded", type(model).__name__, "without signbridge")
    """
)


def test_remote_code_loads_without_signbridge(tester, tmp_path):
    model = _model(tester.get_config())
    folder = tmp_path / "tae"
    model.save_pretrained(folder)
    poses = tester.poses()
    torch.save(poses, tmp_path / "poses.pt")
    result = run_without_signbridge(REMOTE_SCRIPT, [folder, tmp_path / "poses.pt"], tmp_path)
    assert "without signbridge" in result.stdout
    remote = torch.load(tmp_path / "poses.pt.out")
    torch.testing.assert_close(remote, model.encode_windows(poses), rtol=0, atol=0)


def test_normalization_matches_pose_normalizer(tester):
    normalization = pytest.importorskip(
        "signbridge.data.normalization", reason="PoseNormalizer not written yet"
    )
    sequences = [tester.poses(n=1, seed=s)[0].numpy() * (s + 1) for s in range(3)]
    normalizer = normalization.PoseNormalizer.fit(sequences)
    model = _model(tester.get_config(normalization=normalizer.to_dict()))
    x = torch.as_tensor(sequences[1], dtype=torch.float64)
    torch.testing.assert_close(
        model.normalize_poses(x), torch.as_tensor(normalizer.normalize(sequences[1].astype(np.float64)))
    )


def test_min_range_in_the_statistics_is_the_models_rule(tester):
    low = np.zeros((tester.num_joints, tester.joint_dim))
    high = np.full_like(low, 2.0)
    high[3, 1] = 1e-3  # nearly never moves
    stats = {"minimum": low.tolist(), "maximum": high.tolist(), "min_range": 0.01}
    model = _model(tester.get_config(normalization=stats))
    assert model.normalizer.min_range == 0.01
    poses = tester.poses()
    out = model.normalize_poses(poses)
    torch.testing.assert_close(out[..., 3, 1], poses[..., 3, 1], rtol=0, atol=0)  # divided by 1
    torch.testing.assert_close(out[..., 0, 0], poses[..., 0, 0] / 2, rtol=0, atol=0)
    torch.testing.assert_close(model.denormalize_poses(out), poses, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="min_range"):
        tester.get_config(normalization={**stats, "min_range": -1.0})
    with pytest.raises(ValueError, match="maximum < minimum"):
        tester.get_config(normalization={"minimum": high.tolist(), "maximum": low.tolist()})


def test_folder_saved_before_one_normalisation_still_loads(tester, tmp_path):
    """A TAE saved by the code before one normalisation (commit 1652ed5, imported from git; its own normalise code,
    a constant joint among the statistics) loads with signbridge and gives exactly its features."""
    old = old_model_package(
        "1652ed5",
        "src/signbridge/models/pose_autoencoder",
        ("configuration_pose_autoencoder.py", "modeling_pose_autoencoder.py"),
        tmp_path / "old_code",
    )
    stats = tester.get_config().normalization
    stats["maximum"][2] = list(stats["minimum"][2])  # a joint that never moves
    config = tester.get_config(normalization=stats).to_dict()
    old_config = old.configuration_pose_autoencoder.PoseAutoencoderConfig(
        **{
            k: config[k]
            for k in (
                "num_joints",
                "joint_dim",
                "window_size",
                "d_model",
                "encoder_layers",
                "decoder_layers",
                "num_attention_heads",
                "ffn_dim",
                "latent_dim",
                "dropout",
                "normalization",
            )
        }
    )
    torch.manual_seed(0)
    old_model = old.modeling_pose_autoencoder.PoseAutoencoderModel(old_config).eval()
    old_model.save_pretrained(tmp_path / "tae")
    loaded = PoseAutoencoderModel.from_pretrained(tmp_path / "tae").eval()
    poses = tester.poses() * 3
    torch.testing.assert_close(loaded.encode_windows(poses), old_model.encode_windows(poses), rtol=0, atol=0)
    torch.testing.assert_close(
        loaded.normalize_poses(poses), old_model.normalize_poses(poses), rtol=0, atol=0
    )
    with torch.no_grad():
        torch.testing.assert_close(loaded(poses).loss, old_model(poses).loss, rtol=0, atol=0)


def test_defaults_follow_the_paper_bce_and_pooled_encoder_features(tester):
    """Issue 10, item 8: BCE reconstruction (the paper's evaluation model) and, without latent_dim, the FGD feature
    is the time-pooled encoder output itself (d_model values, NSLP-G's TAE), not a small projection."""
    config = PoseAutoencoderConfig(
        num_joints=tester.num_joints,
        joint_dim=tester.joint_dim,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        num_attention_heads=4,
        ffn_dim=64,
    )
    assert config.loss_type == "bce" and config.latent_dim is None and config.feature_dim == 32
    model = PoseAutoencoderModel(config).eval()
    assert not any(name.startswith(("to_latent", "from_latent")) for name, _ in model.named_parameters())
    poses = torch.rand(6, tester.window_size, tester.num_joints, tester.joint_dim)
    out = model(poses, normalize=False)
    assert out.features.shape == (6, 32)
    # the loss is binary cross-entropy of the sigmoid reconstruction against the [0, 1] target
    expected = torch.nn.functional.binary_cross_entropy(out.reconstruction, poses)
    torch.testing.assert_close(out.loss, expected, rtol=1e-4, atol=1e-5)
    assert model.encode_windows(poses, normalize=False).shape == (6, 32)
    assert model.encode_windows(poses[:0], normalize=False).shape == (0, 32)


@pytest.mark.parametrize(
    "field, value, kind",
    [
        ("d_model", "128", "an integer"),
        ("latent_dim", "8", "an integer"),
        ("window_size", True, "an integer"),
        ("dropout", "0.1", "a number"),
        ("initializer_range", "0.02", "a number"),
    ],
)
def test_config_refuses_a_non_number_naming_the_field(field, value, kind):
    with pytest.raises(ValueError, match=rf"PoseAutoencoderConfig\.{field} must be {kind}, got "):
        PoseAutoencoderConfig(**{field: value})


def test_gradient_checkpointing_gives_the_same_loss_and_gradients_and_keeps_fewer_activations(tester):
    from checkpointing_checks import check_checkpointing

    model = _model(tester.get_config(dropout=0.1, encoder_layers=2, decoder_layers=2))
    g = torch.Generator().manual_seed(3)
    inputs = {
        "poses": tester.poses(),
        "frame_mask": torch.rand(tester.batch_size, tester.window_size, generator=g) > 0.2,
    }

    def layers(m):
        return [*m.encoder.layers, *m.decoder.layers]

    without, with_checkpointing = check_checkpointing(model, inputs, layers)
    print(f"saved activations: {without} bytes without checkpointing, {with_checkpointing} with")
    assert with_checkpointing < 0.8 * without, (with_checkpointing, without)


def test_gradient_checkpointing_leaves_features_unchanged(tester):
    from checkpointing_checks import enable_checkpointing

    model = _model(tester.get_config())
    poses = tester.poses()
    expected = model.encode_windows(poses)
    enable_checkpointing(model)
    model.train()
    torch.testing.assert_close(model.encode_windows(poses), expected)
    assert model.training  # encode_windows restores the mode
