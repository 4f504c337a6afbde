"""The one config parser of every script: JSON file defaults, --key value overrides, refusals."""

import json
from dataclasses import dataclass, field

import pytest

from signbridge.utils.arguments import json_object_argument, parse_config_and_flags


@dataclass
class _Model:
    size: int = 4
    sub_config: dict | str | None = None
    use_latent: bool = True


@dataclass
class _Data:
    name: str = field(default="synthetic")
    files: list[str] = field(default_factory=list)


def _write(tmp_path, config) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def test_json_values_are_defaults_and_flags_override(tmp_path):
    config = _write(
        tmp_path,
        {
            "_comment": "ignored",
            "size": 8,
            "sub_config": {"a": 1},
            "use_latent": False,
            "name": "phoenix",
            "files": ["a.txt", "b.txt"],
        },
    )
    model, data = parse_config_and_flags((_Model, _Data), [config, "--size", "16"])
    assert model.size == 16  # the flag wins
    assert json.loads(model.sub_config) == {"a": 1} and model.use_latent is False
    assert data.name == "phoenix" and data.files == ["a.txt", "b.txt"]


def test_flags_alone_and_null_keeps_the_default(tmp_path):
    (model,) = parse_config_and_flags((_Model,), ["--size", "3"])
    assert model.size == 3
    (model,) = parse_config_and_flags((_Model,), [_write(tmp_path, {"size": None})])
    assert model.size == 4


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"size": 8, "colour": 1}', "unknown keys \\['colour'\\]"),
        ("[1, 2]", "expected a JSON object"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_bad_config_files_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        parse_config_and_flags((_Model,), [str(path)])


def test_missing_config_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        parse_config_and_flags((_Model,), [str(tmp_path / "absent.json")])


def test_json_object_argument():
    assert json_object_argument(None, "x") == {}
    assert json_object_argument('{"a": 2}', "x") == {"a": 2}
    with pytest.raises(ValueError, match="x must be a JSON object"):
        json_object_argument("[1]", "x")
