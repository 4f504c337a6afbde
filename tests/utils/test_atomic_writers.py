"""Every writer of user data goes through signbridge.utils.files.atomic_write(_many): a write that fails midway (a
full disk, simulated: the file's write raises ENOSPC after some bytes) or that cannot start (a read-only folder)
leaves the previous files byte for byte and no temporary file behind (issue 12 item 4)."""

import errno
import json
import os

import numpy as np
import pytest

from signbridge.utils import files as files_module


class _FullDisk:
    """A file whose device fills up after ``budget`` bytes (characters, for a text file)."""

    def __init__(self, f, budget):
        self._f, self._budget = f, budget

    def write(self, data):
        if len(data) > self._budget:
            self._f.write(data[: self._budget])
            self._budget = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.fixture
def full_disk(monkeypatch):
    """Make every file atomic_write opens fail after ``budget`` bytes (call the fixture with the budget)."""

    def arm(budget=10):
        real_fdopen = os.fdopen
        monkeypatch.setattr(
            files_module.os, "fdopen", lambda fd, *a, **k: _FullDisk(real_fdopen(fd, *a, **k), budget)
        )

    return arm


def _examples(n=3, frames=4):
    rng = np.random.default_rng(0)
    return [
        {
            "name": f"ex{i}",
            "signer": "s1",
            "text": f"text {i}",
            "gloss": f"GLOSS{i}",
            "num_frames": frames,
            "poses": rng.normal(size=(frames, 50, 3)).astype(np.float32),
            "features": rng.normal(size=(frames, 8)).astype(np.float32),
        }
        for i in range(n)
    ]


def _write_skels(folder, examples):
    from signbridge.data.skels import write_skels

    write_skels(examples, folder, "dev")


def _write_slrt_annotations(folder, examples):
    from signbridge.data.slrt import write_slrt_annotations

    write_slrt_annotations(examples, folder / "corpus.dev")


def _write_slrt_features(folder, examples):
    from signbridge.data.slrt import write_slrt_features

    write_slrt_features(
        [{"name": e["name"], "sign": e["features"]} for e in examples], folder / "corpus.dev.features"
    )


def _write_pose_file(folder, examples):
    from signbridge.data.pose_files import write_pose_file

    write_pose_file(folder / "a.pose", examples[0]["poses"], fps=25)


def _render_pose_gif(folder, examples):
    pytest.importorskip("PIL")
    from signbridge.data.pose_files import render_pose_gif

    render_pose_gif(folder / "a.gif", examples[0]["poses"], fps=25, size=32)


def _write_results(folder, examples):
    from signbridge.utils.runtime import write_results

    write_results({"examples": [e["name"] for e in examples] * 50}, folder)


def _write_corpus_index(folder, examples):
    from signbridge.data.synthetic import generate_corpus, write_corpus
    from signbridge.data.synthetic.config import SyntheticCorpusConfig

    corpus = generate_corpus(SyntheticCorpusConfig(train_size=len(examples), dev_size=1, test_size=1))
    write_corpus(corpus, folder, format="pose")


def _write_cvslt_scores(folder, examples):
    from signbridge.training.cvslt import write_scores

    write_scores(
        {"dev": {"bleu4": np.float32(len(examples)), "names": [e["name"] for e in examples] * 20}},
        folder / "scores.json",
    )


def _write_cvslt_predictions(folder, examples):
    from signbridge.training.cvslt import write_predictions

    write_predictions(
        folder / "predictions_dev.tsv",
        [e["gloss"] for e in examples] * 10,
        [e["text"] for e in examples] * 10,
    )


def _write_demo_production_files(folder, examples):
    from signbridge.demo.run import write_production_files

    table = {e["name"]: {"fgd": float(e["poses"].sum())} for e in examples}
    write_production_files(folder, table, f"a table of {len(examples)} rows", {"rows": list(table) * 20})


def _write_experiment_json(folder, examples):
    from signbridge.experiments.jobs import write_json

    write_json({"names": [e["name"] for e in examples] * 20}, folder / "results" / "variant-seed0.json")


def _write_text(folder, examples):
    # the CLI's translation TSV, model cards and configs, the experiment table, demo_results.json
    files_module.atomic_write_text(
        folder / "out.tsv", "".join(f"{e['name']}\t{e['text']}\n" for e in examples) * 20
    )


def _save_figure(folder, examples):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from signbridge.experiments.report import _save

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot(examples[0]["features"][:, 0])
    _save(plt, fig, folder / "figure.png")


WRITERS = {
    "write_skels": _write_skels,
    "write_slrt_annotations": _write_slrt_annotations,
    "write_slrt_features": _write_slrt_features,
    "write_pose_file": _write_pose_file,
    "render_pose_gif": _render_pose_gif,
    "write_results": _write_results,
    "write_corpus-pose": _write_corpus_index,
    "cvslt-write_scores": _write_cvslt_scores,
    "cvslt-write_predictions": _write_cvslt_predictions,
    "demo-write_production_files": _write_demo_production_files,
    "experiments-write_json": _write_experiment_json,
    "atomic_write_text": _write_text,
    "experiments-figure": _save_figure,
}


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("budget", [0, 7, 200])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_full_disk_midway_keeps_the_previous_files(tmp_path, full_disk, writer, budget):
    write = WRITERS[writer]
    write(tmp_path, _examples(3))
    before = _snapshot(tmp_path)
    assert before
    full_disk(budget)
    with pytest.raises(OSError) as info:
        write(tmp_path, _examples(5, frames=6))  # different content: a partial write would show
    assert info.value.errno == errno.ENOSPC
    assert _snapshot(tmp_path) == before  # the previous files, byte for byte, and no temporary file


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_folder_where_no_file_can_be_created_keeps_the_previous_files(tmp_path, monkeypatch, writer):
    # a read-only folder, simulated: tests often run as root, whom chmod does not stop
    write = WRITERS[writer]
    write(tmp_path, _examples(3))
    before = _snapshot(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files_module.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="creating a file in"):
        write(tmp_path, _examples(5, frames=6))
    assert _snapshot(tmp_path) == before


def test_a_really_read_only_folder(tmp_path):
    from signbridge.data.skels import write_skels

    write_skels(_examples(2), tmp_path, "dev")
    before = _snapshot(tmp_path)
    os.chmod(tmp_path, 0o555)
    try:
        if os.access(tmp_path, os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes (simulated in the test above)")
        with pytest.raises(PermissionError, match="dev.skels"):
            write_skels(_examples(3), tmp_path, "dev")
    finally:
        os.chmod(tmp_path, 0o755)
    assert _snapshot(tmp_path) == before


def test_write_skels_refused_midway_by_a_bad_example_changes_nothing(tmp_path):
    from signbridge.data.skels import write_skels

    write_skels(_examples(2), tmp_path, "dev")
    before = _snapshot(tmp_path)
    bad = _examples(3)
    bad[2]["poses"] = np.zeros((2, 49, 3))
    with pytest.raises(ValueError, match="example 2"):
        write_skels(bad, tmp_path, "dev")
    assert _snapshot(tmp_path) == before


def test_atomic_write_many_renames_all_or_nothing(tmp_path):
    paths = [tmp_path / "a", tmp_path / "b"]
    with files_module.atomic_write_many(paths, "w") as (a, b):
        a.write("A")
        b.write("B")
    assert [p.read_text() for p in paths] == ["A", "B"]
    with pytest.raises(RuntimeError), files_module.atomic_write_many(paths, "w") as (a, b):
        a.write("new A")
        raise RuntimeError("stop")
    assert [p.read_text() for p in paths] == ["A", "B"] and sorted(os.listdir(tmp_path)) == ["a", "b"]
    with pytest.raises(ValueError, match="named twice"), files_module.atomic_write_many([paths[0], paths[0]]):
        pass
    assert json.loads(json.dumps(sorted(os.listdir(tmp_path)))) == ["a", "b"]
