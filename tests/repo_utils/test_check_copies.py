"""utils/check_copies.py: the marked copies match their sources, and a changed copy or source is caught."""

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "utils" / "check_copies.py"
NAR_SLP = Path("src/signbridge/models/nar_slp")
POSE_VAE = Path("src/signbridge/models/pose_vae")
POSE_AUTOENCODER = Path("src/signbridge/models/pose_autoencoder")
NORMALIZATION = Path("src/signbridge/data/normalization.py")
CVSLT = Path("src/signbridge/models/cvslt")
STRICT_LOADING = Path("src/signbridge/models/strict_loading.py")


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_copies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_copies", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_copies = _load_checker()


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_repository_copies_match_their_sources():
    run = _run()
    assert run.returncode == 0, run.stdout + run.stderr
    copies = {copy.path.relative_to(REPO_ROOT): copy.module for copy in check_copies.find_copies(REPO_ROOT)}
    assert copies == {
        NAR_SLP / "configuration_pose_vae.py": "signbridge.models.pose_vae.configuration_pose_vae",
        NAR_SLP / "modeling_pose_vae.py": "signbridge.models.pose_vae.modeling_pose_vae",
        NAR_SLP / "pose_normalization.py": "signbridge.data.normalization",
        POSE_VAE / "pose_normalization.py": "signbridge.data.normalization",
        CVSLT / "pose_normalization.py": "signbridge.data.normalization",
        POSE_AUTOENCODER / "pose_normalization.py": "signbridge.data.normalization",
        CVSLT / "strict_loading.py": "signbridge.models.strict_loading",
        NAR_SLP / "strict_loading.py": "signbridge.models.strict_loading",
        POSE_VAE / "strict_loading.py": "signbridge.models.strict_loading",
        POSE_AUTOENCODER / "strict_loading.py": "signbridge.models.strict_loading",
    }


def test_the_copied_normalization_imports_no_signbridge():
    """data/normalization.py is copied into saved model folders, which load by remote code without signbridge: it
    may import only the standard library, numpy and torch, and nothing relatively."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "torch"}
    tree = ast.parse((REPO_ROOT / NORMALIZATION).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import from {node.module!r} in {NORMALIZATION}"
            imported.add(node.module.split(".")[0])
    assert imported - allowed == set(), f"{NORMALIZATION} imports {sorted(imported - allowed)}"
    assert {"numpy"} <= imported


@pytest.fixture
def tree(tmp_path):
    """A temporary repository holding the model folders with copies and the sources of their copies."""
    for folder in (NAR_SLP, POSE_VAE, POSE_AUTOENCODER):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / NORMALIZATION).parent.mkdir(parents=True)
    shutil.copyfile(REPO_ROOT / NORMALIZATION, tmp_path / NORMALIZATION)
    shutil.copyfile(REPO_ROOT / STRICT_LOADING, tmp_path / STRICT_LOADING)
    assert check_copies.check_copies(tmp_path) == []
    return tmp_path


def test_a_changed_copy_is_reported_then_fixed(tree):
    copy = tree / NAR_SLP / "modeling_pose_vae.py"
    original = copy.read_text()
    copy.write_text(original.replace("return -0.5 * torch.sum(", "return -0.25 * torch.sum(", 1))
    run = _run("--root", str(tree))
    assert run.returncode == 1
    assert "src/signbridge/models/nar_slp/modeling_pose_vae.py differs from" in run.stdout
    assert "-    return -0.5 * torch.sum(" in run.stdout and "+    return -0.25 * torch.sum(" in run.stdout
    assert (
        "configuration_pose_vae.py differs" not in run.stdout
        and "pose_normalization.py differs" not in run.stdout
    )
    fixed = _run("--root", str(tree), "--fix_and_overwrite")
    assert fixed.returncode == 0, fixed.stdout
    assert copy.read_text() == original
    assert _run("--root", str(tree)).returncode == 0


def test_a_changed_source_is_reported_and_propagated(tree):
    source = tree / POSE_VAE / "configuration_pose_vae.py"
    source.write_text(source.read_text() + "\nEXTRA = 1\n")
    problems = check_copies.check_copies(tree)
    assert len(problems) == 1 and "nar_slp/configuration_pose_vae.py differs" in problems[0]
    assert check_copies.check_copies(tree, fix=True) == []
    copy = tree / NAR_SLP / "configuration_pose_vae.py"
    assert copy.read_text().endswith("\nEXTRA = 1\n")
    assert check_copies.check_copies(tree) == []


def test_a_missing_source_is_reported(tree):
    (tree / POSE_VAE / "modeling_pose_vae.py").unlink()
    problems = check_copies.check_copies(tree, fix=True)
    assert len(problems) == 1 and "does not exist" in problems[0]


def test_a_changed_normalization_source_reaches_every_copy(tree):
    source = tree / NORMALIZATION
    source.write_text(source.read_text() + "\nEXTRA = 1\n")
    problems = check_copies.check_copies(tree)
    assert len(problems) == 3 and all("pose_normalization.py differs" in p for p in problems)
    assert check_copies.check_copies(tree, fix=True) == []
    for folder in (NAR_SLP, POSE_VAE, POSE_AUTOENCODER):
        assert (tree / folder / "pose_normalization.py").read_text().endswith("\nEXTRA = 1\n")
