"""signbridge: sign language translation (CV-SLT) and production (NAR-SLP) for Hugging Face transformers."""

__version__ = "0.1.0"

# Public names are filled in as the subpackages land (integration step). During development
# the submodules are imported directly, e.g. ``from signbridge.data.synthetic import ...``.
__all__ = ["__version__"]
