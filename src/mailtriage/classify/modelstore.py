"""Saves and loads models with skops, verifies them, and keeps versions and the active pointer.

A saved model is a directory with ``model.skops`` (written by ``skops.io.dumps``) and
``metadata.json`` (version, date, training size, cross-validated scores, library versions and the
sha256 of ``model.skops``). Loading reads the file once, checks the sha256 and the library
versions, checks that every type skops does not trust by default is on ``TRUSTED_TYPES``, and only
then lets skops build the objects; pickle is never used. Every failure is a ``ModelError`` that
says what is wrong and what to do.

A model directory (``ClassifyConfig.model_dir``) holds ``versions/<version>/`` and a file
``active`` naming the version in use. The model trained on the bundled seed set ships in
``mailtriage/classify/bundled/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from mailtriage import durable
from mailtriage.classify.model import FORMAT, ModelMetadata, TrainedModel, features_from_state
from mailtriage.errors import ModelError

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
ACTIVE_FILE = "active"
VERSIONS_DIR = "versions"

TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)
"""Types outside skops's default trust that our models contain; anything else is refused."""

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def bundled_model_dir() -> Path:
    """Where the model trained on the seed set is shipped."""
    return Path(str(resources.files("mailtriage.classify").joinpath("bundled")))


def _installed_versions() -> tuple[str, str]:
    import sklearn
    import skops

    return sklearn.__version__, skops.__version__


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def read_metadata(directory: Path) -> ModelMetadata:
    """The metadata of the model in ``directory``; ``ModelError`` if missing or unreadable."""
    path = directory / METADATA_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelMetadata.from_dict(data)
    except FileNotFoundError:
        raise ModelError(f"The model in {directory} has no {METADATA_FILE}; it cannot be "
                         "verified and is refused.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            ValueError) as exc:
        raise ModelError(f"The model metadata {path} is unreadable ({exc}); the model is "
                         "refused.") from None


def incompatibility(meta: ModelMetadata) -> str | None:
    """Why this installation cannot use the model described by ``meta``, or None."""
    if meta.format != FORMAT:
        return (f"it has model format {meta.format}, this version of mailtriage reads format "
                f"{FORMAT}")
    sklearn_version, _ = _installed_versions()
    if _minor(meta.sklearn_version) != _minor(sklearn_version):
        return (f"it was trained with scikit-learn {meta.sklearn_version}, this installation has "
                f"{sklearn_version}")
    return None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_model(directory: Path) -> TrainedModel:
    """Verify and load the model in ``directory``; ``ModelError`` when it must not be used."""
    meta = read_metadata(directory)
    why = incompatibility(meta)
    if why is not None:
        raise ModelError(f"The model {meta.version} in {directory} is incompatible: {why}. "
                         "Retrain it with 'mailtriage train'.")
    try:
        data = (directory / MODEL_FILE).read_bytes()
    except OSError as exc:
        raise ModelError(f"The model file {directory / MODEL_FILE} cannot be read: "
                         f"{exc.strerror or exc}.") from None
    digest = sha256_of(data)
    if not meta.sha256 or digest != meta.sha256:
        raise ModelError(f"The model file {directory / MODEL_FILE} does not match the sha256 "
                         f"recorded in {METADATA_FILE} (recorded {meta.sha256[:12] or 'none'}, "
                         f"found {digest[:12]}); it was changed after training and is refused.")
    return _load_verified(data, meta, directory)


def _load_verified(data: bytes, meta: ModelMetadata, directory: Path) -> TrainedModel:
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises assorted errors on a corrupt archive
        raise ModelError(f"The model file in {directory} is not a readable skops file: "
                         f"{exc}.") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelError(f"The model file in {directory} contains the untrusted type "
                         f"{refused[0]}; it is refused.")
    try:
        parts = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # translated at this adapter: the model is unusable
        raise ModelError(f"The model file in {directory} cannot be loaded: {exc}.") from None
    try:
        if not isinstance(parts, dict) or set(parts) != {"features", "type", "priority"}:
            raise ValueError("unexpected contents")
        features = features_from_state(parts["features"])
        type_clf: Any = parts["type"]
        prio_clf: Any = parts["priority"]
        for clf in (type_clf, prio_clf):
            if clf is not None and not hasattr(clf, "predict_proba"):
                raise ValueError("a classifier without probabilities")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"The model file in {directory} does not hold a mailtriage model "
                         f"({exc}); it is refused.") from None
    return TrainedModel(features, type_clf, prio_clf, meta)


def save_model(model: TrainedModel, directory: Path) -> ModelMetadata:
    """Write ``model.skops`` and ``metadata.json`` (with the file's sha256) into ``directory``."""
    import skops.io as sio

    durable.make_dirs(directory)
    data = sio.dumps(model.parts(), compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    meta = ModelMetadata.from_dict({**model.metadata.as_dict(), "sha256": sha256_of(data)})
    durable.write_file(directory / MODEL_FILE, data, mode=0o644)
    text = json.dumps(meta.as_dict(), indent=2, sort_keys=True) + "\n"
    durable.write_file(directory / METADATA_FILE, text.encode("utf-8"), mode=0o644)
    return meta


@dataclass(frozen=True)
class ModelStore:
    """The versions in a model directory and the pointer to the active one."""

    root: Path

    def version_dir(self, version: str) -> Path:
        if not _VERSION.match(version):
            raise ModelError(f"'{version}' is not a valid model version name.")
        return self.root / VERSIONS_DIR / version

    def versions(self) -> list[str]:
        base = self.root / VERSIONS_DIR
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir()
                      if p.is_dir() and (p / METADATA_FILE).exists())

    def active_version(self) -> str | None:
        try:
            text = (self.root / ACTIVE_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ModelError(f"The active-model pointer in {self.root} cannot be read: "
                             f"{exc}.") from None
        return text or None

    def save(self, model: TrainedModel) -> ModelMetadata:
        """Store ``model`` as a new version (not activated)."""
        target = self.version_dir(model.version)
        if target.exists():
            raise ModelError(f"The model version {model.version} already exists in {self.root}.")
        return save_model(model, target)

    def activate(self, version: str) -> None:
        """Point ``active`` at ``version`` after checking that it loads."""
        load_model(self.version_dir(version))
        durable.make_dirs(self.root)
        durable.write_file(self.root / ACTIVE_FILE, (version + "\n").encode("utf-8"), mode=0o644)

    def load(self, version: str) -> TrainedModel:
        directory = self.version_dir(version)
        if not directory.is_dir():
            raise ModelError(f"The model version {version} does not exist in {self.root}.")
        return load_model(directory)

    def metadata(self, version: str) -> ModelMetadata:
        return read_metadata(self.version_dir(version))
