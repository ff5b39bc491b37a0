"""One-off device check of rnnkit.layers on CUDA against the same layers on the CPU."""
import sys

import torch

sys.path.insert(0, "src")
import rnnkit.layers as L  # noqa: E402

torch.manual_seed(0)
dev = "cuda"
results = []


def check(name, got, want, atol):
    err = (got.detach().cpu().double() - want.detach().cpu().double()).abs().max().item()
    ok = err <= atol
    results.append(ok)
    print(f"{'OK ' if ok else 'BAD'} {name}: max err {err:.2e}", flush=True)


B, T, I, U = 4, 6, 3, 5
masks = {"none": None,
         "right": torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 1 + [0] * 5, [1] * 6], dtype=torch.bool),
         "left": torch.tensor([[1] * 6, [0] * 2 + [1] * 4, [0] * 5 + [1], [1, 0, 1, 1, 0, 1]], dtype=torch.bool)}
for cls, kw in [(L.LSTM, {}), (L.GRU, {}), (L.GRU, {"reset_after": False}), (L.SimpleRNN, {}),
                (L.LSTM, {"go_backwards": True}), (L.SimpleRNN, {"activation": "relu"})]:
    for mname, m in masks.items():
        for dtype in (torch.float64, torch.float32):
            cpu = cls(U, return_sequences=True, return_state=True, **kw)
            cpu.maybe_build((T, I))
            cpu.to(dtype)
            gpu = cls.from_config(cpu.get_config())
            gpu.maybe_build((T, I))
            gpu.set_weights(cpu.get_weights())
            gpu.to(dev, dtype)
            x = torch.randn(B, T, I, dtype=dtype)
            xg = x.to(dev).requires_grad_(True)
            x.requires_grad_(True)
            a = cpu(x, mask=m)
            b = gpu(xg, mask=None if m is None else m.to(dev))
            tol = 1e-9 if dtype == torch.float64 else 2e-4
            tag = f"{cls.__name__}{kw} mask={mname} {str(dtype)[6:]} [{gpu.last_choice.kernel}]"
            for k, (p, q) in enumerate(zip(a, b)):
                check(f"{tag} out{k}", q, p, tol)
            sum(t.sum() for t in a).backward()
            sum(t.sum() for t in b).backward()
            check(f"{tag} dx", xg.grad, x.grad, tol * 10)
            check(f"{tag} dW_ih", gpu.weight_ih.grad, cpu.weight_ih.grad, tol * 10)

# Lazy build on the input's device, Bidirectional, Embedding + mask, TimeDistributed, stateful.
xg = torch.randn(B, T, I, device=dev)
mg = masks["left"].to(dev)
lstm = L.LSTM(U)
lstm(xg)
results.append(lstm.weight_ih.device.type == "cuda")
print("lazy build on cuda:", lstm.weight_ih.device, flush=True)
bi = L.Bidirectional(L.GRU(U, return_sequences=True))
out = bi(xg, mask=mg)
bc = L.Bidirectional(L.GRU(U, return_sequences=True))
bc.maybe_build((T, I))
bc.set_weights(bi.get_weights())
check("Bidirectional masked", out, bc(xg.cpu(), mask=mg.cpu()), 2e-4)
g1, g2 = L.GRU(U, dropout=0.3, recurrent_dropout=0.2, seed=5), L.GRU(U, dropout=0.3, recurrent_dropout=0.2, seed=5)
g1(xg)
g2(xg)
g2.set_weights(g1.get_weights())
check("seeded recurrent dropout on cuda", g1(xg, training=True), g2(xg, training=True), 0)
emb = L.Embedding(9, 3, mask_zero=True)
ids = torch.tensor([[0, 0, 3, 4], [5, 6, 7, 0]], device=dev)
y = L.LSTM(4)(emb(ids), mask=emb.compute_mask(ids, None))
results.append(y.device.type == "cuda")
td = L.TimeDistributed(L.Dense(2))
print("TimeDistributed:", td(xg).shape, td.layer.kernel.device, flush=True)
d = L.Dropout(0.5, seed=1)
print("Dropout:", d(xg, training=True).device, flush=True)
s = L.LSTM(U, stateful=True, return_sequences=True)
s(xg)
s(xg)
results.append(s.states[0].device.type == "cuda")
print("ALL OK" if all(results) else f"FAILURES: {results.count(False)}", flush=True)
sys.exit(0 if all(results) else 1)
