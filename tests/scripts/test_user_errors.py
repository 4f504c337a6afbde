"""User errors of the scripts (scripts/*.py) and the ``signbridge demo`` command, run as subprocesses: one
``<script>: error: ...`` line naming the problem, exit status 2, a traceback only with ``--debug``; the checks run
before any data is loaded or any model is trained (each case here takes seconds, mostly the imports)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# the subprocesses run this checkout's signbridge
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p),
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
}


def _run(script, *args, cwd):
    command = (
        [sys.executable, "-m", "signbridge", *args]
        if script == "signbridge"
        else [
            sys.executable,
            str(SCRIPTS / f"{script}.py"),
            *args,
        ]
    )
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600, env=ENV)


def _assert_one_line_error(result, prog, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{prog}: error: "), result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in last, (fragment, last)


def _model_folder(path: Path, model_type: str) -> Path:
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"model_type": model_type}))
    return path


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    _model_folder(tmp_path / "a_cvslt", "cvslt")
    _model_folder(tmp_path / "a_pose_vae", "pose_vae")
    return tmp_path


# (script, arguments, fragments of the one-line message); "{tmp}" is the test's folder. One or two cases per script
# as real subprocesses; tests/test_bad_input_matrix.py runs many more through the same run_entry, in-process.
CASES = {
    "cvslt-output-under-a-file": (
        "train_cvslt",
        ["scripts/configs/cvslt_synthetic.json", "--output_dir", "{tmp}/afile/run"],
        ["--output_dir", "afile is a file, not a folder"],
    ),
    "nar-slp-pose-vae-of-another-type": (
        "train_nar_slp",
        ["--pose_vae_name_or_path", "{tmp}/a_cvslt", "--output_dir", "{tmp}/run"],
        ["--pose_vae_name_or_path", "holds a 'cvslt' model, not a pose VAE"],
    ),
    "pose-vae-unwritable-output": (
        "train_pose_vae",
        ["--dataset", "synthetic", "--output_dir", "/proc/signbridge-test/run"],
        ["--output_dir", "cannot write there"],
    ),
    "tae-unknown-flag": (
        "train_pose_autoencoder",
        ["--dataset", "synthetic", "--output_dir", "{tmp}/run", "--splits", "x"],
        ["not used by the HfArgumentParser", "--splits"],
    ),
    "pose-vae-bad-config-value": (
        "train_pose_vae",
        ["--dataset", "synthetic", "--train_size", "8", "--dev_size", "2", "--output_dir", "{tmp}/run"]
        + ["--latent_dim", "0"],
        ["PoseVAEConfig.latent_dim must be a positive integer, got 0"],
    ),
    "evaluate-tae-of-another-type": (
        "evaluate_production",
        ["--tae", "{tmp}/a_pose_vae"],
        ["--tae", "holds a 'pose_vae' model, not a pose autoencoder"],
    ),
    "prune-missing-mbart-folder": (
        "prune_mbart_vocab",
        ["--mbart_name_or_path", "{tmp}/no_mbart", "--output_dir", "{tmp}/run", "--text_file", "{tmp}/afile"],
        ["--mbart_name_or_path", "no such folder"],
    ),
    "demo-unwritable-output": (
        "signbridge",
        ["demo", "--quick", "--output-dir", "/proc/signbridge-test/demo"],
        ["--output-dir", "cannot write there"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_user_error_is_one_line_and_exit_2(workdir, case):
    script, args, fragments = CASES[case]
    if "/proc/" in " ".join(args) and not Path("/proc").is_dir():
        pytest.skip("needs /proc, a folder no user can create files in")
    result = _run(script, *(a.replace("{tmp}", str(workdir)) for a in args), cwd=ROOT)
    _assert_one_line_error(result, "signbridge" if script == "signbridge" else f"{script}.py", *fragments)
    assert not (workdir / "run" / "config.json").exists()  # nothing was trained


def test_script_debug_flag_shows_the_traceback(workdir):
    result = _run(
        "train_pose_vae",
        "--dataset",
        "synthetic",
        "--output_dir",
        str(workdir / "afile"),
        "--debug",
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "NotADirectoryError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("train_pose_vae.py: error: --output_dir")
