"""NAR-SLP: non-autoregressive sign language production via knowledge distillation (Hwang et al., 2022).

The pose VAE (LGM/PGM) that the producer embeds is defined in ``signbridge.models.pose_vae``. This folder holds
copies of its two files (``configuration_pose_vae.py``, ``modeling_pose_vae.py``), each opening with a
``# Copied from signbridge.models.pose_vae...`` header, and of the normalisation they import
(``pose_normalization.py``, a copy of ``signbridge.data.normalization``), because transformers' remote code carries only the files
a model's file imports relatively from its own folder (``from .modeling_pose_vae import ...``): a saved
``NARSignProducer`` gets them and loads with ``trust_remote_code=True`` without signbridge. The copies are kept
identical to the definitions by ``utils/check_copies.py`` (run by the test suite; ``python utils/check_copies.py
--fix_and_overwrite`` rewrites them); never edit them by hand.

Inside signbridge the copies are never imported: below, ``signbridge.models.nar_slp.configuration_pose_vae`` and
``.modeling_pose_vae`` are bound to the ``signbridge.models.pose_vae`` modules, and ``.pose_normalization`` to
``signbridge.data.normalization``, before anything of this folder is imported, so the producer's relative imports get the one ``PoseVAEConfig`` / ``PoseVAEModel`` class
(``isinstance(producer.pose_vae, signbridge.models.pose_vae.PoseVAEModel)`` holds, and the Auto classes know one
``PoseVAEConfig``).
"""

import sys

from ...data import normalization as _normalization
from ..auto_registration import MODEL_SUBPACKAGES, register
from ..pose_vae import (
    MissingNormalizationError,
    PoseVAEConfig,
    PoseVAEModel,
    PoseValidationError,
    configuration_pose_vae,
    modeling_pose_vae,
)

sys.modules[f"{__name__}.configuration_pose_vae"] = configuration_pose_vae
sys.modules[f"{__name__}.modeling_pose_vae"] = modeling_pose_vae
sys.modules[f"{__name__}.pose_normalization"] = _normalization

from .configuration_nar_slp import NARSignProducerConfig  # noqa: E402 (after the two bindings above)
from .modeling_nar_slp import (  # noqa: E402
    NARSignProducer,
    NARSignProducerOutput,
    NARSignProducerPreTrainedModel,
    NARSignProductionOutput,
    TextInputError,
)

register(NARSignProducerConfig, NARSignProducer, MODEL_SUBPACKAGES[__name__])

__all__ = [
    "MissingNormalizationError",
    "NARSignProducer",
    "NARSignProducerConfig",
    "NARSignProducerOutput",
    "NARSignProducerPreTrainedModel",
    "NARSignProductionOutput",
    "PoseVAEConfig",
    "PoseVAEModel",
    "PoseValidationError",
    "TextInputError",
]
