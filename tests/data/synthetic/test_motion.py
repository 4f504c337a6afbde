"""Sign motion: signing speed and sequence length."""

from __future__ import annotations

import numpy as np

from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split, make_signers


def test_faster_signer_gives_shorter_sequences():
    cfg = SyntheticCorpusConfig(train_size=200, dev_size=0, test_size=0)
    by_signer: dict[str, list[float]] = {}
    for e in iter_split("train", cfg):
        by_signer.setdefault(e["signer"], []).append(e["num_frames"] / len(e["gloss"].split()))
    speeds = {s.name: s.speed for s in make_signers(cfg)}
    slowest = min(speeds, key=speeds.get)
    fastest = max(speeds, key=speeds.get)
    assert np.mean(by_signer[fastest]) < np.mean(by_signer[slowest])


def test_primitives_deterministic_per_gloss_and_lexicon_seed():
    from signbridge.data.synthetic.motion import _play, _primitive

    signer = make_signers()[0]
    regen = _primitive("REGEN", 2014)
    assert regen.keyframes.shape[0] in (2, 3) and 9 <= regen.duration <= 18
    played = _play(regen, 16, signer)
    np.testing.assert_array_equal(played, _play(_primitive("REGEN", 2014), 16, signer))
    assert not np.allclose(played, _play(_primitive("SCHNEE", 2014), 16, signer))
    assert not np.allclose(regen.keyframes[0], _primitive("REGEN", 7).keyframes[0])
