"""Run by `accelerate launch --cpu --num_processes 2` in the tests: a few steps on 2 gloo processes."""

import hashlib
import json
import sys
from pathlib import Path

import torch
from policy_batches import TINY_TRANSFORMER, RandomBatches

from robolang.policy.train import TrainConfig, Trainer

out, steps = Path(sys.argv[1]), int(sys.argv[2])
resume = len(sys.argv) > 3 and sys.argv[3] == "resume"
cfg = TrainConfig(steps=steps, batch_size=4, warmup_steps=2, log_every=1, val_every=2, val_batches=1,
                  checkpoint_every=2)  # fmt: skip
spec = {"images": {}, "state_names": [], "action_names": []}
trainer = Trainer(
    cfg, "transformer", TINY_TRANSFORMER, RandomBatches(), None, out, "test", spec, RandomBatches().stats_dict()
)
if resume:
    trainer.resume()
records = trainer.fit()
acc = trainer.accelerator
digest = hashlib.sha1(b"".join(p.detach().numpy().tobytes() for p in trainer.policy.parameters())).hexdigest()
report = {"rank": acc.process_index, "world": acc.num_processes, "backend": str(acc.state.backend),
          "digest": digest, "losses": [r["loss"] for r in records]}  # fmt: skip
(out / f"rank{acc.process_index}_{steps}.json").write_text(json.dumps(report))
trainer.close()
assert not torch.distributed.is_initialized()
