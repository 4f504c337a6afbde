"""Run by test_cross_version.py under two Python environments with different transformers releases.

    python cross_version_script.py save FOLDER   # signbridge importable: build a tiny seeded CV-SLT, save it,
                                                 # record its logits and beam-3 generation
    python cross_version_script.py load FOLDER   # signbridge blocked: load FOLDER through remote code only,
                                                 # record the same outputs

Each step writes a JSON file with the transformers version it ran under, so the test can check that the two sides
really ran different releases.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BLOCKER = Path(__file__).resolve().parents[2] / "signbridge_blocker.py"


def _inputs():
    import torch

    gen = torch.Generator().manual_seed(1)
    features = torch.randn(3, 7, 12, generator=gen)
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    return {"input_features": features * mask.unsqueeze(-1), "attention_mask": mask}


def _outputs(model) -> dict:
    import torch

    inputs = _inputs()
    with torch.no_grad():
        logits = model(**inputs).logits
    generated = model.generate(**inputs, num_beams=3, max_new_tokens=6)
    return {"logits": logits.flatten().tolist(), "generated": generated.tolist()}


def save(folder: Path) -> None:
    import torch
    import transformers

    from signbridge.models.cvslt import CVSLTConfig, CVSLTForConditionalGeneration

    torch.manual_seed(0)
    config = CVSLTConfig(
        vocab_size=40,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=48,
        feature_dim=12,
        visual_hidden_size=8,
        visual_ffn_dim=16,
        max_sign_positions=30,
        latent_dim=4,
        tgt_lang_code_id=5,
        kl_annealing_steps=10,
        init_std=0.2,
        dropout=0.0,
        visual_dropout=0.0,
    )
    model = CVSLTForConditionalGeneration(config)
    model.train()
    with (
        torch.no_grad()
    ):  # one train-mode pass so the masked BatchNorm's running statistics are not the identity
        model(**_inputs(), labels=torch.tensor([[7, 8, 9, 2, 5]] * 3))
    model.eval()
    model.save_pretrained(folder)
    result = _outputs(model) | {"transformers": transformers.__version__}
    (folder / "saved.json").write_text(json.dumps(result))


def load(folder: Path) -> None:
    exec(compile(_block_source(), "blocker", "exec"), {})
    import transformers
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
    module = type(model).__module__
    if module.startswith("signbridge"):
        raise SystemExit(f"the model came from signbridge ({module}), not from the folder's remote code")
    result = _outputs(model) | {"transformers": transformers.__version__, "module": module}
    (folder / "loaded.json").write_text(json.dumps(result))


def _block_source() -> str:
    namespace: dict = {}
    exec(BLOCKER.read_text(), namespace)
    return namespace["BLOCK_SIGNBRIDGE"]


if __name__ == "__main__":
    mode, target = sys.argv[1], Path(sys.argv[2])
    {"save": save, "load": load}[mode](target)
