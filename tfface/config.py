"""Training configuration: YAML recipes with a fixed schema and dotted overrides."""

from __future__ import annotations

import copy
import json
import math
import os
import re
from typing import Any, Dict, List, Optional

import yaml

from tfface.errors import TfFaceError
from tfface.landmark_sources import JAW_MODES
from tfface.loss_weights import (DEFAULT_LANDMARK_EMPHASIS, DEFAULT_LOSS_WEIGHTS,
                                 DEFAULT_REGULARIZATION)
from tfface.param_groups import GROUPS

BUILTIN_MODEL_NAMES = ("ict", "demo")
"""Names of the morphable models shipped in the package (tfface.morphable.BUILTIN_MODELS)."""
DEFAULT_MODEL_NAME = BUILTIN_MODEL_NAMES[0]
"""The model used wherever none is named (ICT-FaceKit)."""
SHIPPED_ENCODER_NAMES = ("photo", "synthetic")
"""Names of the encoders shipped for the built-in ICT-FaceKit model
(tfface.encoders.SHIPPED_ENCODERS), for ``model.init_encoder`` and ``--encoder``."""
BACKBONE_NAMES = ("mobilenet_v3_small", "mobilenet_v3_large", "resnet50")
"""``model.encoder`` choices (the keys of tfface.encoders.BACKBONES)."""

DEFAULTS: Dict[str, Any] = {
    "model": {
        "morphable_model": None,       # .npz path or built-in name (ict, demo); None = ict
        "encoder": "mobilenet_v3_small",
        "input_size": 224,
        "projection": "perspective",
        "init_weights": None,          # local backbone weights file
        "init_encoder": None,          # fine-tune: a trained encoder.keras, "default"
                                       # (a built-in model's default shipped encoder)
                                       # or a shipped encoder's name
    },
    "data": {
        "source": "synthetic",         # synthetic | tfrecord | folder | photos
        "path": None,                  # shards folder (tfrecord) or image folder
        "photos": [],                  # photos: the sets, [{format: cfp|pts|unannotated,
                                       # path: folder, people: [first, last] (cfp)}]
        "synthetic_share": 0.5,        # photos: the share of each batch that is synthetic
        "synthetic_count": 512,
        "batch_size": 16,              # global batch, split over replicas
        "seed": 0,
        "augment": True,
        "photo_like": False,           # synthetic: photo backgrounds, blur, noise, JPEG, ...
        "jaw": "contour",              # folder: what the .pts jaw points mark (JAW_MODES);
                                       # tfrecord shards record theirs (tfface prepare --jaw)
    },
    "losses": {
        # tfface.loss_weights: those of the shipped encoder; landmark_loss is in
        # image-size units; emphasis = weight of nose bridge + inner mouth points
        "landmark": DEFAULT_LOSS_WEIGHTS["landmark"],
        "landmark_emphasis": DEFAULT_LANDMARK_EMPHASIS,
        "photometric": DEFAULT_LOSS_WEIGHTS["photometric"],
        "robust_photometric": True,
        "regularization": dict(DEFAULT_REGULARIZATION),
        # supervised shape error where the true face is known (synthetic data)
        "shape": DEFAULT_LOSS_WEIGHTS["shape"],
        # photos of one person share one identity (data with person ids)
        "identity_consistency": 0.0,
        # per-group weights against a teacher's params (photos: the landmark fit's)
        "distillation": {},
    },
    "optimizer": {"learning_rate": 1.0e-3, "schedule": "cosine"},
    "schedule": {"steps": 1000, "checkpoint_every": 100, "log_every": 20,
                 "image_every": 100},
    "strategy": "default",             # default | mirrored | multi_worker
    "output_dir": "runs/default",
}
CHOICES = {
    "data.source": ("synthetic", "tfrecord", "folder", "photos"),
    "data.jaw": JAW_MODES,
    "optimizer.schedule": ("constant", "cosine"),
    "strategy": ("default", "mirrored", "multi_worker"),
    "model.projection": ("perspective", "weak_perspective"),
    "model.encoder": BACKBONE_NAMES,
}
WHOLE_NUMBERS = {"model.input_size": 32, "data.synthetic_count": 1, "data.batch_size": 1,
                 "data.seed": 0, "schedule.steps": 1, "schedule.checkpoint_every": 1,
                 "schedule.log_every": 1, "schedule.image_every": 1}
"""Integer keys and their least values."""
POSITIVE_NUMBERS = ("optimizer.learning_rate",)
MAX_LEARNING_RATE = 1.0
"""Above it Adam's steps leave any sane weight range at once."""
PATHS = {"output_dir": False, "data.path": True, "model.morphable_model": True,
         "model.init_weights": True, "model.init_encoder": True}
"""Keys that name a file or folder, and whether they may be null."""
RESUMABLE_CHANGES = ("schedule.", "strategy", "output_dir", "model.init_encoder",
                     "model.init_weights")
"""Keys (or key prefixes) a resumed run may change; any other change is a new run."""
NON_NEGATIVE_NUMBERS = ("losses.landmark", "losses.landmark_emphasis", "losses.photometric",
                        "losses.shape", "losses.identity_consistency")
GROUP_WEIGHTS = ("regularization", "distillation")
"""``losses`` keys whose value is a mapping of coefficient group -> weight."""
PHOTO_FORMATS = ("cfp", "pts", "unannotated")
"""``data.photos`` formats (:mod:`tfface.data.photo_sets`)."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1's safe loader that also reads ``1e-3`` (no dot) as a number,
    as YAML 1.2 and Python do."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def read_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text``, reading ``1e-3`` as a float."""
    return yaml.load(text, Loader=_Loader)


def _merge(base: Dict[str, Any], update: Dict[str, Any], source: str, prefix: str = "") -> None:
    for key, value in update.items():
        path = f"{prefix}{key}"
        if key not in base:
            known = ", ".join(sorted(f"{prefix}{k}" for k in base))
            raise TfFaceError(f"{source}: unknown config key '{path}'; known keys: {known}")
        if isinstance(base[key], dict) and key not in GROUP_WEIGHTS:
            if not isinstance(value, dict):
                raise TfFaceError(f"{source}: '{path}' must be a mapping")
            _merge(base[key], value, source, path + ".")
        else:
            base[key] = value


def _set(config: Dict[str, Any], dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    if keys[0] == "losses" and len(keys) == 3 and keys[1] in GROUP_WEIGHTS and \
            isinstance(config["losses"][keys[1]], dict):
        # one group's weight; the recipe's other groups stay
        keys, value = keys[:2], {**config["losses"][keys[1]], keys[2]: value}
    update: Dict[str, Any] = {}
    cursor = update
    for key in keys[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[keys[-1]] = value
    _merge(config, update, source)


def load_config(path: Optional[str], overrides: Optional[List[str]] = None) -> Dict[str, Any]:
    """Defaults <- YAML file <- ``key.sub=value`` overrides, validated."""
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = read_yaml(handle.read()) or {}
        except OSError as error:
            raise TfFaceError(f"{path}: cannot read config ({error.strerror}); "
                              "see configs/ for recipes") from None
        except yaml.YAMLError as error:
            raise TfFaceError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise TfFaceError(f"{path}: a config must be a mapping of sections")
        _merge(config, loaded, path)
    for item in overrides or []:
        if "=" not in item:
            raise TfFaceError(f"--override {item!r}: use key.sub=value")
        key, raw = item.split("=", 1)
        _set(config, key.strip(), read_yaml(raw), f"--override {key}")
    _check_values(config, path or "config")
    if config["data"]["source"] == "photos":
        _check_photo_sets(config["data"]["photos"], path or "config")
    elif config["data"]["source"] != "synthetic" and not config["data"]["path"]:
        raise TfFaceError(f"{path or 'config'}: data.source={config['data']['source']} needs data.path")
    morphable = config["model"]["morphable_model"]
    if morphable and morphable not in BUILTIN_MODEL_NAMES and not os.path.isfile(morphable):
        raise TfFaceError(f"{morphable}: model.morphable_model not found; give a .npz or one of "
                          f"{', '.join(BUILTIN_MODEL_NAMES)}")
    start = config["model"]["init_encoder"]
    shipped = ("default",) + SHIPPED_ENCODER_NAMES
    if start in shipped and (morphable or DEFAULT_MODEL_NAME) not in BUILTIN_MODEL_NAMES:
        raise TfFaceError(f"{path or 'config'}: model.init_encoder 'default' is the shipped "
                          f"encoder of a built-in model ({', '.join(BUILTIN_MODEL_NAMES)}); "
                          "give the path of an encoder.keras trained for this one")
    if start is not None and start not in shipped and not os.path.isfile(str(start)):
        raise TfFaceError(f"{start}: model.init_encoder not found; give a trained "
                          f"encoder.keras or one of {', '.join(shipped)}")
    return config


def _value(config: Dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        config = config[key]
    return config


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool, NaN or infinity)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_values(config: Dict[str, Any], source: str) -> None:
    """Raise a one-line :class:`TfFaceError` naming the first key of
    ``config`` whose value is of the wrong kind or out of range."""
    def fail(dotted: str, wanted: str) -> None:
        raise TfFaceError(f"{source}: '{dotted}' is {_value(config, dotted)!r}; {wanted}")

    for dotted, allowed in CHOICES.items():
        if _value(config, dotted) not in allowed:
            fail(dotted, f"use one of {allowed}")
    for dotted, least in WHOLE_NUMBERS.items():
        value = _value(config, dotted)
        if not (_is_number(value) and isinstance(value, int) and value >= least):
            fail(dotted, f"give a whole number of at least {least}")
    for dotted in POSITIVE_NUMBERS:
        if not (_is_number(_value(config, dotted)) and _value(config, dotted) > 0):
            fail(dotted, "give a number above 0")
    if not _value(config, "optimizer.learning_rate") <= MAX_LEARNING_RATE:
        fail("optimizer.learning_rate", f"give at most {MAX_LEARNING_RATE} (e.g. 1e-3)")
    for dotted, nullable in PATHS.items():
        value = _value(config, dotted)
        if not ((nullable and value is None) or (isinstance(value, str) and value.strip())):
            fail(dotted, "give a path in quotes" + (" or null" if nullable else ""))
    for dotted in NON_NEGATIVE_NUMBERS:
        if not (_is_number(_value(config, dotted)) and _value(config, dotted) >= 0):
            fail(dotted, "give a number of at least 0")
    for section, defaults in DEFAULTS.items():
        for key, default in defaults.items() if isinstance(defaults, dict) else ():
            if isinstance(default, bool) and not isinstance(config[section][key], bool):
                fail(f"{section}.{key}", "give true or false")
    share = _value(config, "data.synthetic_share")
    if not (_is_number(share) and 0 <= share < 1):
        fail("data.synthetic_share", "give a number from 0 up to (not including) 1")
    for key in GROUP_WEIGHTS:
        weights = config["losses"][key]
        if not isinstance(weights, dict):
            fail(f"losses.{key}", "give a mapping of coefficient group -> weight")
        for group, weight in weights.items():
            if group not in GROUPS:
                fail(f"losses.{key}", f"unknown group {group!r}; groups: {', '.join(GROUPS)}")
            if not (_is_number(weight) and weight >= 0):
                fail(f"losses.{key}.{group}", "give a number of at least 0")


def _check_photo_sets(sets: Any, source: str) -> None:
    """Raise a one-line :class:`TfFaceError` for the first ``data.photos``
    entry that is malformed (whether its folder exists is checked when
    training reads it, so recipes load anywhere)."""
    hint = "give a list of {format: cfp|pts|unannotated, path: folder}"
    if not isinstance(sets, list) or not sets:
        raise TfFaceError(f"{source}: data.source=photos needs data.photos; {hint}")
    for index, entry in enumerate(sets):
        where = f"{source}: data.photos[{index}]"
        if not isinstance(entry, dict) or set(entry) - {"format", "path", "people"}:
            raise TfFaceError(f"{where} is {entry!r}; {hint}")
        if entry.get("format") not in PHOTO_FORMATS:
            raise TfFaceError(f"{where}: format {entry.get('format')!r}; use one of "
                              f"{', '.join(PHOTO_FORMATS)}")
        folder = entry.get("path")
        if not isinstance(folder, str) or not folder.strip():
            raise TfFaceError(f"{where}: path {folder!r}; give the folder of the set in quotes")
        people = entry.get("people")
        if people is not None and not (isinstance(people, list) and len(people) == 2
                                       and all(isinstance(p, int) for p in people)
                                       and 1 <= people[0] <= people[1]):
            raise TfFaceError(f"{where}: people {people!r}; give [first, last] person numbers")


def _flat(config: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"model.encoder": ..., ...}`` of a nested config."""
    flat: Dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and key not in GROUP_WEIGHTS:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_config(path: str) -> Dict[str, Any]:
    """The validated config of a training run (its ``config.json``).

    Raises:
      TfFaceError: naming ``path``, when it is no JSON, not a complete config
        or holds invalid values.
    """
    remedy = "it is written when training starts: re-run train.py into that output_dir"
    try:
        with open(path, encoding="utf-8") as handle:
            stored = json.load(handle)
    except OSError as error:
        raise TfFaceError(f"{path}: cannot read the run's config ({error.strerror})") from None
    except ValueError:
        raise TfFaceError(f"{path}: not valid JSON (damaged); {remedy}") from None
    if not isinstance(stored, dict):
        raise TfFaceError(f"{path}: not a training config (no mapping); {remedy}")
    missing = sorted(set(_flat(DEFAULTS)) - set(_flat(stored)))
    if missing:
        raise TfFaceError(f"{path}: not a complete training config (missing "
                          f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); "
                          f"{remedy}")
    config = copy.deepcopy(DEFAULTS)
    _merge(config, stored, path)
    _check_values(config, path)
    return config


def resume_conflicts(stored: Dict[str, Any], config: Dict[str, Any]) -> List[str]:
    """Keys whose value differs between a run's ``stored`` config and the
    ``config`` it is resumed with, except :data:`RESUMABLE_CHANGES`."""
    old, new = _flat(stored), _flat(config)
    return sorted(key for key in set(old) | set(new)
                  if old.get(key) != new.get(key) and not key.startswith(RESUMABLE_CHANGES))
