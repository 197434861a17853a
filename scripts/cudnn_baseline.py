#!/usr/bin/env python3
"""PyTorch cuDNN baseline: nn.LSTM / nn.GRU / nn.RNN at flashrnn's benchmark shapes.

One dense head of H = N*D (cuDNN has no multi-head RNN), batch-first input of width H, timed
forward and forward+backward with CUDA events through triton.testing.do_bench (median), after
flatten_parameters(). Writes JSON to --json and prints a table.
"""
import argparse
import json

import torch

try:
    from triton.testing import do_bench
except Exception:  # pragma: no cover - triton missing
    do_bench = None


def bench(fn, warmup_ms=25, rep_ms=200):
    if do_bench is not None:
        return do_bench(fn, warmup=warmup_ms, rep=rep_ms, return_mode="median")
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); fn(); e.record(); torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    return sorted(times)[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cells", default="lstm,gru,elman")
    p.add_argument("--dtypes", default="bfloat16,float16,float32")
    p.add_argument("--shapes", default="16,1024,768;16,1024,256;16,1024,64",
                   help="B,T,H triples separated by ';'")
    p.add_argument("--json", default=None)
    p.add_argument("--tf32", choices=["default", "on", "off"], default="default",
                   help="cuDNN's TF32 math for float32 (PyTorch allows it by default)")
    args = p.parse_args()
    if args.tf32 != "default":
        torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
        torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
    modules = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}
    records = []
    print(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}, "
          f"cuDNN TF32 allowed: {torch.backends.cudnn.allow_tf32}")
    print("cell   dtype     B     T     H   forward ms   fw+bw ms")
    for cell in args.cells.split(","):
        for dtype_name in args.dtypes.split(","):
            dtype = getattr(torch, dtype_name)
            for shape in args.shapes.split(";"):
                B, T, H = (int(v) for v in shape.split(","))
                torch.manual_seed(0)
                kwargs = {"nonlinearity": "tanh"} if cell == "elman" else {}
                rnn = modules[cell](H, H, batch_first=True, **kwargs).cuda().to(dtype)
                rnn.flatten_parameters()
                x = torch.randn(B, T, H, device="cuda", dtype=dtype)
                xg = x.clone().requires_grad_(True)
                grad = torch.randn(B, T, H, device="cuda", dtype=dtype)

                def fw():
                    with torch.no_grad():
                        rnn(x)

                def fwbw():
                    out, _ = rnn(xg)
                    out.backward(grad)

                try:
                    f = bench(fw)
                    fb = bench(fwbw)
                except Exception as error:  # report and go on
                    print(f"{cell:6} {dtype_name:8} {B:4} {T:5} {H:5} failed: {error}")
                    continue
                records.append({"cell": cell, "dtype": dtype_name, "B": B, "T": T, "H": H,
                                "tf32": torch.backends.cudnn.allow_tf32,
                                "forwardMs": f, "forwardBackwardMs": fb})
                print(f"{cell:6} {dtype_name:8} {B:4} {T:5} {H:5} {f:11.3f} {fb:10.3f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(records, out, indent=1)


if __name__ == "__main__":
    main()
