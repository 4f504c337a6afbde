"""Configuration of the per-frame pose VAE.

The single definition lives in ``signbridge/models/nar_slp/configuration_pose_vae.py`` (so that a
saved NARSignProducer carries it for ``trust_remote_code``); this module re-exports it.
"""

from ..nar_slp.configuration_pose_vae import PoseVAEConfig

__all__ = ["PoseVAEConfig"]
