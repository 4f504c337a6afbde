"""Model subpackages of signbridge: `cvslt`, `pose_vae`, `nar_slp`, `pose_autoencoder`.

Import a subpackage to use it (e.g. ``from signbridge.models.cvslt import CVSLTForConditionalGeneration``);
this file imports nothing so that loading one model never pulls in the others.
"""
