"""signbridge.demo.settings: the demo's sizes and the model configs sized to the corpus."""

import numpy as np

from signbridge.demo import DEMO_SENTENCES, DemoSettings
from signbridge.demo.settings import sized_model_configs, translator_model_config


def fake_corpus(pose_frames: int, feature_frames: int) -> dict[str, list[dict]]:
    example = {"poses": np.zeros((pose_frames, 50, 3)), "features": np.zeros((feature_frames, 8))}
    short = {"poses": np.zeros((10, 50, 3)), "features": np.zeros((10, 8))}
    return {"train": [short, example], "dev": [short], "test": [short]}


def test_quick_is_smaller_than_full():
    full, quick = DemoSettings.full(), DemoSettings.quick()
    assert full == DemoSettings()
    assert quick.train_size < full.train_size and quick.nar_epochs < full.nar_epochs
    assert quick.sentences == DEMO_SENTENCES[:2]


def test_job_orders_name_the_jobs():
    from signbridge.demo.jobs import JOBS

    folders = {folder for _, folder in JOBS.values()}
    for settings in (DemoSettings.full(), DemoSettings.quick()):
        assert set(settings.job_order or ()) <= folders


def test_translator_model_config_positions():
    config = translator_model_config(64, d_model=16, layers=1)
    assert config["max_sign_positions"] == 64 and config["max_position_embeddings"] == 64 + 2 + 42
    assert config["d_model"] == 16 and config["encoder_layers"] == config["decoder_layers"] == 1


def test_sized_model_configs_keep_configs_that_fit():
    settings = DemoSettings()
    configs = sized_model_configs(settings, fake_corpus(pose_frames=100, feature_frames=50))
    assert list(configs) == ["nar_slp", "nar_slp_no_kd", "cvslt", "backtranslator", "pose_autoencoder"]
    assert configs["cvslt"] == settings.cvslt_model_config
    assert configs["backtranslator"] == settings.backtranslator_model_config
    assert configs["nar_slp"] == configs["nar_slp_no_kd"] == settings.nar_producer_config
    assert configs["pose_autoencoder"] == {}


def test_sized_model_configs_grow_to_a_long_corpus_without_touching_the_settings():
    settings = DemoSettings()
    before = (
        dict(settings.cvslt_model_config),
        dict(settings.backtranslator_model_config),
        dict(settings.nar_producer_config),
    )
    configs = sized_model_configs(settings, fake_corpus(pose_frames=1000, feature_frames=300))
    assert configs["cvslt"]["max_sign_positions"] == 300 + 8
    assert configs["cvslt"]["max_position_embeddings"] >= 300 + 8 + 2 + 42
    # the back-translator reads every 4th pose: ceil(1000 / 4) = 250 steps
    assert configs["backtranslator"]["max_sign_positions"] == 250 + 8
    assert configs["nar_slp"]["max_frames"] == 1200 and configs["nar_slp"]["max_frames"] % 8 == 0
    assert (
        settings.cvslt_model_config,
        settings.backtranslator_model_config,
        settings.nar_producer_config,
    ) == before


def test_position_tables_fit_the_corpus_longest_sentence():
    """PHOENIX14T has 53-word sentences: the translators' position tables and target length make room for them."""
    from signbridge.demo.settings import target_length_needed

    corpus = fake_corpus(pose_frames=100, feature_frames=50)
    for split in corpus.values():
        for example in split:
            example["text"] = "wort " * 10
    corpus["test"][0]["text"] = "wort " * 53
    assert target_length_needed(corpus) == 55
    configs = sized_model_configs(DemoSettings(), corpus)
    for name in ("cvslt", "backtranslator"):
        config = configs[name]
        assert config["max_position_embeddings"] >= config["max_sign_positions"] + 2 + 55
