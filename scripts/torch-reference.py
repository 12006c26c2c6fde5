"""PyTorch reference for scripts/bench-engines.ts (CPU) and scripts/device/bench-gpu.ts (CUDA);
optional: needs python3 with torch.

Runs the same Caffe graph deepvis imported (net.json: its layers; <layer>.<i>.npy: their weights),
with Caffe's semantics (CEIL pooling with the clipped AVE divisor, LRN alpha/n), fp32, in eager
mode, and prints one JSON line: forward img/s and ms per img-step (forward + input gradient of one
unit per image) at the given batch, on `threads` threads.

    python3 scripts/torch-reference.py DIR --blob loss3/classifier --batch 8 --threads 2 [--device cuda]

With --device cuda the timings synchronise the GPU (fp32: TF32 matmuls and cuDNN convolutions off,
so the reference computes what deepvis computes).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def caffe_pooled(size, k, s, p):
    out = math.ceil((size + 2 * p - k) / s) + 1
    if p > 0 and (out - 1) * s >= size + p:
        out -= 1
    return out


def build(d, dev):
    layers = json.load(open(os.path.join(d, "net.json")))
    shapes = {b["name"]: b["shape"] for b in json.load(open(os.path.join(d, "blobs.json")))}
    params = {}
    for l in layers:
        i = 0
        while os.path.exists(os.path.join(d, f"{l['name'].replace('/', '_')}.{i}.npy")):
            params.setdefault(l["name"], []).append(torch.from_numpy(np.load(os.path.join(d, f"{l['name'].replace('/', '_')}.{i}.npy"))).to(dev))
            i += 1
    divisors = {}

    def pool(l, x):
        _, C, H, W = x.shape
        if l["global"]:
            kh, kw, sh, sw, ph, pw = H, W, 1, 1, 0, 0
        else:
            (kh, kw), (sh, sw), (ph, pw) = l["kernel"], l["stride"], l["pad"]
        OH, OW = caffe_pooled(H, kh, sh, ph), caffe_pooled(W, kw, sw, pw)
        bottom, right = (OH - 1) * sh + kh - H - ph, (OW - 1) * sw + kw - W - pw
        if l["method"] == "max":
            xp = F.pad(x, (pw, right, ph, bottom), value=-math.inf)
            return F.max_pool2d(xp, (kh, kw), (sh, sw))
        key = l["name"]
        if key not in divisors:
            div = torch.empty(OH, OW)
            for i in range(OH):
                for j in range(OW):
                    hs, ws = i * sh - ph, j * sw - pw
                    div[i, j] = (min(hs + kh, H + ph) - hs) * (min(ws + kw, W + pw) - ws)
            divisors[key] = ((kh * kw) / div).to(x.device)
        xp = F.pad(x, (pw, right, ph, bottom))
        return F.avg_pool2d(xp, (kh, kw), (sh, sw)) * divisors[key]

    def forward(x, want):
        env = {}
        first = layers[0]
        env[first["tops"][0]] = x
        last = max(i for i, l in enumerate(layers) if want in l["tops"])
        for l in layers[: last + 1]:
            k = l["kind"]
            if k == "input":
                continue
            ins = [env[b] for b in l["bottoms"]]
            a = ins[0]
            p = params.get(l["name"], [])
            if k == "conv":
                y = F.conv2d(a, p[0], p[1] if l["biasTerm"] and len(p) > 1 else None, tuple(l["stride"]), tuple(l["pad"]), tuple(l["dilation"]), l["group"])
            elif k == "fc":
                y = F.linear(a.flatten(1), p[0].reshape(l["numOutput"], -1), p[1] if l["biasTerm"] and len(p) > 1 else None)
            elif k == "relu":
                y = F.relu(a) if l["negativeSlope"] == 0 else F.leaky_relu(a, l["negativeSlope"])
            elif k == "pool":
                y = pool(l, a)
            elif k == "lrn":
                y = F.local_response_norm(a, l["localSize"], l["alpha"], l["beta"], l["k"])
            elif k == "concat":
                y = torch.cat(ins, 1)
            elif k == "identity":
                for t in l["tops"]:
                    env[t] = a
                continue
            elif k == "softmax":
                y = torch.softmax(a, 1)
            elif k == "flatten":
                y = a.flatten(1)
            elif k == "eltwise":
                y = sum(ins) if l["op"] == "sum" else ins[0] * ins[1]
            else:
                raise SystemExit(f"torch-reference: layer kind {k} not supported")
            env[l["tops"][0]] = y
        return env[want]

    return forward, shapes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--blob", required=True)
    ap.add_argument("--class-blob", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    forward, shapes = build(a.dir, dev)
    C, H, W = json.load(open(os.path.join(a.dir, "input.json")))
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(a.batch, C, H, W, generator=g) * 10).to(dev)
    cpu0 = time.process_time()
    with torch.no_grad():
        forward(x, a.class_blob)
        sync()
        t = time.perf_counter()
        for _ in range(a.reps):
            forward(x, a.class_blob)
        sync()
        fwd_s = (time.perf_counter() - t) / a.reps
    shape = shapes[a.blob]
    sel = torch.zeros(a.batch, *shape, device=dev)
    for n in range(a.batch):
        c = (n * 97) % shape[0]
        if len(shape) == 3:
            sel[n, c, shape[1] // 2, shape[2] // 2] = 1
        else:
            sel[n, c] = 1

    def step():
        xi = x.clone().requires_grad_(True)
        (forward(xi, a.blob) * sel).sum().backward()
        return xi.grad

    step()
    sync()
    t = time.perf_counter()
    for _ in range(a.reps):
        step()
    sync()
    step_s = (time.perf_counter() - t) / a.reps
    cpu = time.process_time() - cpu0
    print(json.dumps({"forwardImgPerSec": a.batch / fwd_s, "msPerImgStep": step_s * 1000 / a.batch, "threads": a.threads, "cpuSeconds": cpu, "torch": torch.__version__, "device": str(dev)}))


main()
