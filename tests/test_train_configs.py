"""Every shipped training recipe (resources/train_configs) reads into its stages' configs: a typo in
a recipe meant for a lent GPU must fail here, not after minutes of the machine's time."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from maskvat_foley.core.train.avsync import AVSyncConfig
from maskvat_foley.core.train.codec import CodecTrainConfig
from maskvat_foley.core.train.maskvat import MaskVATTrainConfig
from maskvat_foley.core.train.stages import load_config
from maskvat_foley.core.train.transfer import TransferConfig

CONFIGS = sorted(Path(str(resources.files("maskvat_foley.resources") / "train_configs")).glob("*.json"))
READERS = {"codec": CodecTrainConfig, "avsync": AVSyncConfig, "transfer": TransferConfig,
           "maskvat": MaskVATTrainConfig}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_each_recipe_reads_into_its_stages(path):
    sections = [k for k in json.loads(path.read_text()) if k in READERS]
    assert sections, f"{path.name} has no training stage"
    for stage in sections:
        READERS[stage].from_dict(load_config(path.stem, stage))


def test_the_footage_recipes_start_from_the_bundle_on_both_looks():
    for name in ("footage-continue", "gpu-footage"):
        cfg = MaskVATTrainConfig.from_dict(load_config(name, "maskvat"))
        assert cfg.init_from == "resources/default_model"
        assert cfg.data["look"] == cfg.val_data["look"] == ["classic", "footage"]
        assert cfg.data["offset"] == 3200  # clips no earlier recipe trained on
