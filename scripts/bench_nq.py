# PyTorch baseline for scripts/bench_nq.lua: the natural-quantization net 784-512-512-10 (no
# biases, float32 as PyTorch's default), one training epoch on 5000 MNIST images (batch 64, SGD
# lr 0.01 momentum 0.9, cross-entropy) and 15-shot inference (15 re-sampled forward passes) on
# 5000 images, single thread. Written for this benchmark from the paper's formulas.
# Usage: python3 scripts/bench_nq.py <data/mnist dir> -> prints "epoch <s>" and "infer15 <s>"
import json, math, sys, time
import torch

torch.set_num_threads(1)
torch.manual_seed(1)
A, G = 0.316, 5 * math.pi / 19


class QubitAct(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, state, a, g):
        ctx.save_for_backward(z)
        ang, r = state
        t = torch.tanh(z / a)
        tot = ang + math.pi / 2 * (r - t)
        ez = torch.cos(tot)
        p = 0.5 * (1 + math.sin(g) * ez)
        d = torch.where(torch.rand_like(p) < p, 1.0, -1.0)
        c, s = torch.cos(tot / 2), torch.sin(tot / 2)
        cg, sg = math.cos(g / 2), math.sin(g / 2)
        w0, w1 = c * (cg + d * sg), s * (cg - d * sg)
        state[0] = 2 * torch.atan2(w1, w0)
        state[1] = d
        return d

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * (z.abs() < 1).to(grad.dtype), None, None, None


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = torch.nn.Linear(784, 512, bias=False)
        self.l2 = torch.nn.Linear(512, 512, bias=False)
        self.l3 = torch.nn.Linear(512, 10, bias=False)
        for l in (self.l1, self.l2, self.l3):
            torch.nn.init.kaiming_normal_(l.weight, nonlinearity="linear")

    def forward(self, x):
        state = [torch.zeros(x.shape[0], 512), torch.ones(x.shape[0], 512)]
        h = QubitAct.apply(self.l1(x), state, A, G)
        h = QubitAct.apply(self.l2(h), state, A, math.pi / 2)
        return self.l3(h)


def main():
    d = sys.argv[1]
    xs, ys = [], []
    for k in range(10):
        with open(f"{d}/{k}.json") as f:
            v = json.load(f)["data"]
        n = len(v) // 784
        xs.append(torch.tensor(v, dtype=torch.float32).view(n, 784))
        ys.append(torch.full((n,), k, dtype=torch.long))
    X, Y = torch.cat(xs), torch.cat(ys)
    perm = torch.randperm(X.shape[0])[:5000]
    X, Y = X[perm], Y[perm]
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss = torch.nn.CrossEntropyLoss()
    best_e = best_i = best_ec = best_ic = float("inf")
    for rep in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        idx = torch.randperm(5000)
        for b in range(0, 5000, 64):
            j = idx[b:b + 64]
            opt.zero_grad()
            l = loss(net(X[j]), Y[j])
            l.backward()
            opt.step()
        best_e = min(best_e, time.perf_counter() - t0)
        best_ec = min(best_ec, time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.no_grad():
            votes = torch.zeros(5000, 10)
            for _ in range(15):
                votes[torch.arange(5000), net(X).argmax(1)] += 1
            votes.argmax(1)
        best_i = min(best_i, time.perf_counter() - t0)
        best_ic = min(best_ic, time.process_time() - c0)
    print(f"epoch {best_e:.4f} cpu {best_ec:.4f}")
    print(f"infer15 {best_i:.4f} cpu {best_ic:.4f}")


main()
