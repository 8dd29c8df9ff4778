"""skops round trip, and refusal of tampered, incompatible or untrusted model files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mailtriage.classify.model import TrainedModel
from mailtriage.classify.modelstore import (
    MODEL_FILE,
    ModelStore,
    bundled_model_dir,
    load_model,
    read_metadata,
    save_model,
    sha256_of,
)
from mailtriage.classify.text import model_text
from mailtriage.errors import ModelError
from tests.disk_log import DiskLog

TEXTS = [model_text("Website ligt eruit", "Niemand kan bestellen."),
         model_text("Offerte", "Graag een offerte voor een nieuwe pagina."),
         model_text("Bedankt", "Dank voor de hulp!")]


def test_round_trip_gives_the_same_probabilities(small_model: TrainedModel,
                                                 tmp_path: Path) -> None:
    meta = save_model(small_model, tmp_path / "m")
    assert meta.sha256 == sha256_of((tmp_path / "m" / MODEL_FILE).read_bytes())
    loaded = load_model(tmp_path / "m")
    assert loaded.metadata == meta
    assert loaded.predict_proba(TEXTS) == small_model.predict_proba(TEXTS)
    on_disk = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert on_disk["training_size"] == small_model.metadata.training_size
    assert on_disk["cv"]["type_macro_f1"] == small_model.metadata.cv.type_macro_f1  # type: ignore[union-attr]


def test_tampered_file_is_refused(small_model: TrainedModel, tmp_path: Path) -> None:
    save_model(small_model, tmp_path / "m")
    path = tmp_path / "m" / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the sha256"):
        load_model(tmp_path / "m")


def test_incompatible_sklearn_version_is_refused(small_model: TrainedModel,
                                                 tmp_path: Path) -> None:
    save_model(small_model, tmp_path / "m")
    meta_path = tmp_path / "m" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["sklearn_version"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"incompatible: it was trained with scikit-learn 0\.24"):
        load_model(tmp_path / "m")
    meta["sklearn_version"] = small_model.metadata.sklearn_version
    meta["format"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="model format 99"):
        load_model(tmp_path / "m")


def test_untrusted_type_is_refused_even_with_a_matching_hash(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from mailtriage.classify.model import ModelMetadata

    data = sio.dumps({"features": {}, "type": FunctionTransformer(func=print), "priority": None})
    target = tmp_path / "evil"
    target.mkdir()
    (target / MODEL_FILE).write_bytes(data)
    sklearn_version = __import__("sklearn").__version__
    meta = ModelMetadata(version="evil", created="2026-01-01T00:00:00+00:00", training_size=1,
                         corrections=0, type_counts={}, priority_counts={}, cv=None,
                         sklearn_version=sklearn_version, skops_version="0", python_version="",
                         sha256=sha256_of(data))
    (target / "metadata.json").write_text(json.dumps(meta.as_dict()))
    with pytest.raises(ModelError, match=r"untrusted type builtins\.print"):
        load_model(target)


def test_missing_metadata_and_garbage_file(small_model: TrainedModel, tmp_path: Path) -> None:
    save_model(small_model, tmp_path / "m")
    (tmp_path / "m" / "metadata.json").unlink()
    with pytest.raises(ModelError, match=r"no metadata\.json"):
        load_model(tmp_path / "m")
    save_model(small_model, tmp_path / "g")
    garbage = b"not a zip at all"
    (tmp_path / "g" / MODEL_FILE).write_bytes(garbage)
    meta = json.loads((tmp_path / "g" / "metadata.json").read_text())
    meta["sha256"] = sha256_of(garbage)
    (tmp_path / "g" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="not a readable skops file"):
        load_model(tmp_path / "g")


def test_store_versions_and_active_pointer(small_model: TrainedModel, tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.versions() == [] and store.active_version() is None
    store.save(small_model)
    assert store.versions() == ["test-small"]
    with pytest.raises(ModelError, match="already exists"):
        store.save(small_model)
    store.activate("test-small")
    assert store.active_version() == "test-small"
    assert store.load("test-small").version == "test-small"
    with pytest.raises(ModelError, match="not a valid model version"):
        store.version_dir("../etc")
    with pytest.raises(ModelError, match="does not exist"):
        store.load("nope")


def test_bundled_model_is_verified_and_small() -> None:
    directory = bundled_model_dir()
    assert (directory / MODEL_FILE).stat().st_size < 5 * 1024 * 1024
    meta = read_metadata(directory)
    assert meta.training_size >= 400
    assert zipfile.is_zipfile(directory / MODEL_FILE)
    model = load_model(directory)
    types, _ = model.predict_proba(TEXTS)
    assert max(types[1], key=types[1].__getitem__) == "change"


def test_saved_files_and_the_active_pointer_are_on_disk_when_the_call_returns(
        small_model: TrainedModel, tmp_path: Path, disk_log: DiskLog) -> None:
    store = ModelStore(tmp_path / "models")
    store.save(small_model)
    store.activate("test-small")
    version = store.version_dir("test-small")
    for path in (version / MODEL_FILE, version / "metadata.json", tmp_path / "models" / "active"):
        assert disk_log.file_synced_before_rename(path), path
        assert disk_log.synced_after(path), path
    # the new version directories themselves are entered in their parents durably
    assert ("fsync-dir", version.parent) in disk_log.events
