"""Training configuration: YAML recipes with a fixed schema and dotted overrides."""

from __future__ import annotations

import copy
import os
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
BACKBONE_NAMES = ("mobilenet_v3_small", "mobilenet_v3_large", "resnet50")
"""``model.encoder`` choices (the keys of tfface.encoders.BACKBONES)."""

DEFAULTS: Dict[str, Any] = {
    "model": {
        "morphable_model": None,       # .npz path or built-in name (ict, demo); None = ict
        "encoder": "mobilenet_v3_small",
        "input_size": 224,
        "projection": "perspective",
        "init_weights": None,          # local backbone weights file
        "init_encoder": None,          # fine-tune: a trained encoder.keras, or "default"
                                       # (the shipped encoder of a built-in model)
    },
    "data": {
        "source": "synthetic",         # synthetic | tfrecord | folder
        "path": None,                  # shards folder (tfrecord) or image folder
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
    },
    "optimizer": {"learning_rate": 1.0e-3, "schedule": "cosine"},
    "schedule": {"steps": 1000, "checkpoint_every": 100, "log_every": 20,
                 "image_every": 100},
    "strategy": "default",             # default | mirrored | multi_worker
    "output_dir": "runs/default",
}
CHOICES = {
    "data.source": ("synthetic", "tfrecord", "folder"),
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
NON_NEGATIVE_NUMBERS = ("losses.landmark", "losses.landmark_emphasis", "losses.photometric",
                        "losses.shape")


def _merge(base: Dict[str, Any], update: Dict[str, Any], source: str, prefix: str = "") -> None:
    for key, value in update.items():
        path = f"{prefix}{key}"
        if key not in base:
            known = ", ".join(sorted(f"{prefix}{k}" for k in base))
            raise TfFaceError(f"{source}: unknown config key '{path}'; known keys: {known}")
        if isinstance(base[key], dict) and key != "regularization":
            if not isinstance(value, dict):
                raise TfFaceError(f"{source}: '{path}' must be a mapping")
            _merge(base[key], value, source, path + ".")
        else:
            base[key] = value


def _set(config: Dict[str, Any], dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    weights = config["losses"]["regularization"]
    if keys[:2] == ["losses", "regularization"] and len(keys) == 3 and isinstance(weights, dict):
        # one group's weight; the recipe's other groups stay
        keys, value = keys[:2], {**weights, keys[2]: value}
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
                loaded = yaml.safe_load(handle) or {}
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
        _set(config, key.strip(), yaml.safe_load(raw), f"--override {key}")
    _check_values(config, path or "config")
    if config["data"]["source"] != "synthetic" and not config["data"]["path"]:
        raise TfFaceError(f"{path or 'config'}: data.source={config['data']['source']} needs data.path")
    morphable = config["model"]["morphable_model"]
    if morphable and morphable not in BUILTIN_MODEL_NAMES and not os.path.isfile(morphable):
        raise TfFaceError(f"{morphable}: model.morphable_model not found; give a .npz or one of "
                          f"{', '.join(BUILTIN_MODEL_NAMES)}")
    start = config["model"]["init_encoder"]
    if start == "default" and (morphable or DEFAULT_MODEL_NAME) not in BUILTIN_MODEL_NAMES:
        raise TfFaceError(f"{path or 'config'}: model.init_encoder 'default' is the shipped "
                          f"encoder of a built-in model ({', '.join(BUILTIN_MODEL_NAMES)}); "
                          "give the path of an encoder.keras trained for this one")
    if start not in (None, "default") and not os.path.isfile(str(start)):
        raise TfFaceError(f"{start}: model.init_encoder not found; give a trained "
                          "encoder.keras or default")
    return config


def _value(config: Dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        config = config[key]
    return config


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
    for dotted in NON_NEGATIVE_NUMBERS:
        if not (_is_number(_value(config, dotted)) and _value(config, dotted) >= 0):
            fail(dotted, "give a number of at least 0")
    for section, defaults in DEFAULTS.items():
        for key, default in defaults.items() if isinstance(defaults, dict) else ():
            if isinstance(default, bool) and not isinstance(config[section][key], bool):
                fail(f"{section}.{key}", "give true or false")
    weights = config["losses"]["regularization"]
    if not isinstance(weights, dict):
        fail("losses.regularization", "give a mapping of coefficient group -> weight")
    for group, weight in weights.items():
        if group not in GROUPS:
            fail("losses.regularization", f"unknown group {group!r}; groups: {', '.join(GROUPS)}")
        if not (_is_number(weight) and weight >= 0):
            fail(f"losses.regularization.{group}", "give a number of at least 0")
