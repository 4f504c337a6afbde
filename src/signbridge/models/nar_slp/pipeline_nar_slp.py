"""The ``sign-language-production`` pipeline: text -> sign poses with a NAR-SLP producer.

Input: a sentence or a list of sentences. Output per sentence: ``{"poses": (T, J, K) float32 numpy array in corpus
coordinates, "num_frames": T, "fps": frames per second}``; one dict for one sentence, a list for a list.
``pose_path="out.pose"`` (and ``gif_path="out.gif"``) also write the poses with signbridge's writers (one sentence
per call; needs signbridge and its ``pose`` extra).

With signbridge installed: ``signbridge.pipeline("sign-language-production", model=folder)``; anywhere (a saved
folder declares the pipeline in ``config.json``'s ``custom_pipelines`` and carries this file)::

    from transformers import pipeline
    producer = pipeline("sign-language-production", model=folder, trust_remote_code=True)
    producer("am tag regen im norden")["poses"].shape      # (T, 50, 3)

This file imports only numpy, transformers and its own folder.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from transformers import Pipeline

from .modeling_nar_slp import TextInputError

__all__ = ["SignLanguageProductionPipeline"]


class SignLanguageProductionPipeline(Pipeline):
    """Text -> poses with a ``NARSignProducer`` and its tokenizer (see the module)."""

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def _sanitize_parameters(self, pose_path=None, gif_path=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"sign-language-production: unknown arguments {sorted(kwargs)}; it takes pose_path and gif_path"
            )
        postprocess = {}
        if pose_path is not None:
            postprocess["pose_path"] = pose_path
        if gif_path is not None:
            postprocess["gif_path"] = gif_path
        return {}, {}, postprocess

    def __call__(self, inputs, **kwargs):
        """Produce poses for one sentence (-> a dict) or a list of sentences (-> a list of dicts)."""
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs) if isinstance(inputs, (list, tuple)) else None
        if texts is None or not texts or not all(isinstance(t, str) for t in texts):
            raise TextInputError(
                f"sign-language-production needs a sentence or a list of sentences, got {inputs!r:.80}"
            )
        if not single and (kwargs.get("pose_path") or kwargs.get("gif_path")):
            raise TextInputError(
                "pose_path / gif_path write one sentence's poses: give one sentence per call"
            )
        results = super().__call__(texts, **kwargs)
        return results[0] if single else results

    def preprocess(self, text: str):
        if not text.strip():
            raise TextInputError("empty text: give a sentence to produce")
        return dict(self.tokenizer([text], return_tensors="pt"))

    def _forward(self, model_inputs):
        output = self.model.generate_poses(**model_inputs)
        return {"poses": output.poses, "lengths": output.lengths}

    def postprocess(self, model_outputs, pose_path=None, gif_path=None) -> dict[str, Any]:
        length = int(model_outputs["lengths"][0])
        poses = model_outputs["poses"][0, :length].float().cpu().numpy().astype(np.float32)
        fps = getattr(self.model.config, "fps", 25)
        result = {"poses": poses, "num_frames": length, "fps": fps}
        if pose_path is not None or gif_path is not None:
            try:
                from signbridge.data.pose_files import render_pose_gif, write_pose_file
            except ImportError:
                raise TextInputError(
                    "writing .pose / GIF files needs signbridge with its pose extra (pip install 'signbridge[pose]'); "
                    "the poses are in the result's 'poses'"
                ) from None
            if pose_path is not None:
                result["pose_path"] = os.fspath(write_pose_file(pose_path, poses, fps=fps))
            if gif_path is not None:
                render_pose_gif(gif_path, poses, fps=fps)
                result["gif_path"] = os.fspath(gif_path)
        return result
