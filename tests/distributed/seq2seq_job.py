"""Seq2Seq.fit as a user calls it; run alone or under torchrun by test_seq2seq.py."""
import argparse
import json
import os
import sys

import numpy as np
import torch


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    from safetensors.torch import save_file

    from rnnkit.models import Seq2Seq
    from rnnkit.seed import set_random_seed

    rank = os.environ.get("RANK", "solo")
    set_random_seed(1)
    rng = np.random.default_rng(0)
    # 21 pairs, global batch 4: the last batch has 1 pair, rank 1's share of it is empty
    src = [list(rng.integers(4, 10, size=rng.integers(2, 6))) for _ in range(21)]
    tgt = [s[::-1] + [3] for s in src]  # reverse, then <eos>
    model = Seq2Seq(10, 10, cell="gru", embed_size=8, hidden_size=12, attention="dot")
    hist = model.fit(src, tgt, epochs=3, batch_size=4, lr=0.02, seed=5)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(a.out, f"weights-{rank}.safetensors"))
    with open(os.path.join(a.out, f"history-{rank}.json"), "w") as fh:
        # the loop that ran: the model's Trainer, on every rank (its History)
        json.dump({"history": hist, "epoch": [0, 1, 2],
                   "trainer_epochs": model.trainer.history.epoch}, fh)
    return 0


if __name__ == "__main__":
    code = main()
    # Known issue (README, "Outgrowing one process"): after all of its work, a 2-rank gloo
    # job on this machine sometimes aborts in the interpreter's teardown ("terminate called
    # without an active exception"), even with the process group destroyed at exit. What is
    # tested here is the work, so the job leaves without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
