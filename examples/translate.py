"""Translate sign language (visual features) into German text with a trained CV-SLT model.

Run the demo first (`signbridge demo` or `signbridge demo --quick`): it saves the model to
demo_output/models/cvslt/model. Any folder saved by scripts/train_cvslt.py works the same way.
"""

import sys

import torch
from transformers import AutoTokenizer

from signbridge import AutoModelForSeq2SeqLM  # transformers' class, with the signbridge models registered
from signbridge.data.synthetic import SyntheticCorpusConfig, iter_split

model_dir = sys.argv[1] if len(sys.argv) > 1 else "demo_output/models/cvslt/model"
model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
tokenizer = AutoTokenizer.from_pretrained(model_dir)

# Three dev samples of the embedded corpus: (T, 832) visual features and their reference text.
corpus = SyntheticCorpusConfig(train_size=0, dev_size=3, test_size=0)
for example in iter_split("dev", corpus):
    features = torch.from_numpy(example["features"])[None]  # (1, T, 832)
    mask = torch.ones(features.shape[:2], dtype=torch.long)
    # Inference runs the prior path only (z* = mu) with beam search, as in the paper.
    ids = model.generate(input_features=features, attention_mask=mask, num_beams=5, max_new_tokens=32)
    print("REF:", example["text"])
    print("HYP:", tokenizer.decode(ids[0], skip_special_tokens=True))
