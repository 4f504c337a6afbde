"""NAR-SLP: non-autoregressive sign language production via knowledge distillation (Hwang et al., 2022).

The pose VAE (LGM/PGM) that the producer embeds is defined in ``signbridge.models.pose_vae``. This folder holds
copies of its two files (``configuration_pose_vae.py``, ``modeling_pose_vae.py``), each opening with a
``# Copied from signbridge.models.pose_vae...`` header, and of the normalisation they import
(``pose_normalization.py``, a copy of ``signbridge.data.normalization``), because transformers' remote code carries only the files
a model's file imports relatively from its own folder (``from .modeling_pose_vae import ...``): a saved
``NARSignProducer`` gets them and loads with ``trust_remote_code=True`` without signbridge. The copies are kept
identical to the definitions by ``utils/check_copies.py`` (run by the test suite; ``python utils/check_copies.py
--fix_and_overwrite`` rewrites them); never edit them by hand.

Inside signbridge the copies are never imported: ``signbridge.models.copies.bind_copies`` binds each copy's module
name to its source (``.configuration_pose_vae`` and ``.modeling_pose_vae`` to the ``signbridge.models.pose_vae``
modules, ``.pose_normalization`` to ``signbridge.data.normalization``) before anything of this folder is imported, so the producer's relative imports get the one ``PoseVAEConfig`` / ``PoseVAEModel`` class
(``isinstance(producer.pose_vae, signbridge.models.pose_vae.PoseVAEModel)`` holds, and the Auto classes know one
``PoseVAEConfig``).
"""

from ..copies import bind_copies

bind_copies(__name__, __path__[0])

from ..auto_registration import MODEL_SUBPACKAGES, register, register_pipeline  # noqa: E402 (after the binding above)
from ..pose_vae import (  # noqa: E402
    MissingNormalizationError,
    PoseVAEConfig,
    PoseVAEModel,
    PoseValidationError,
)
from .configuration_nar_slp import NARSignProducerConfig  # noqa: E402
from .modeling_nar_slp import (  # noqa: E402
    NARSignProducer,
    NARSignProducerOutput,
    NARSignProducerPreTrainedModel,
    NARSignProductionOutput,
    TextInputError,
)
from .pipeline_nar_slp import SignLanguageProductionPipeline  # noqa: E402

register(NARSignProducerConfig, NARSignProducer, MODEL_SUBPACKAGES[__name__])
register_pipeline("sign-language-production", SignLanguageProductionPipeline)

__all__ = [
    "MissingNormalizationError",
    "NARSignProducer",
    "NARSignProducerConfig",
    "NARSignProducerOutput",
    "NARSignProducerPreTrainedModel",
    "NARSignProductionOutput",
    "PoseVAEConfig",
    "PoseVAEModel",
    "SignLanguageProductionPipeline",
    "PoseValidationError",
    "TextInputError",
]
