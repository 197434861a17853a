"""What a CPU user would pick instead: ONNX Runtime's LSTM (forward) and JAX's LSTM (forward,
forward+backward), float32, at the CPU benchmark shapes. Prints a table and writes JSON.

ONNX Runtime gets an input width of 1, so its time is nearly all recurrence, as ours is (our
benchmark starts from a precomputed input projection Wx). JAX runs the same recurrence as a
`lax.scan` over `h @ R + Wx_t` with Wx given, jitted; its backward is `jax.grad` of
`sum(states * dStates)`.

usage: python cpu_baseline.py [--threads 2] [--repeats 5] [--json FILE] [--shapes 16x256x256,...]
"""
import argparse
import json
import os
import sys
import time

SHAPES = [(16, 256, 256), (16, 1024, 64), (16, 1024, 768)]


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def onnx_lstm(B, T, H, threads, warmup, repeats):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    I = 1
    W = rng.standard_normal((1, 4 * H, I)).astype(np.float32)
    R = (rng.standard_normal((1, 4 * H, H)) / np.sqrt(H)).astype(np.float32)
    Bias = rng.standard_normal((1, 8 * H)).astype(np.float32)
    node = helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=H)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, I])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, 1, B, H])],
        initializer=[helper.make_tensor("W", TensorProto.FLOAT, W.shape, W.flatten()),
                     helper.make_tensor("R", TensorProto.FLOAT, R.shape, R.flatten()),
                     helper.make_tensor("B", TensorProto.FLOAT, Bias.shape, Bias.flatten())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    return timed(lambda: session.run(["Y"], {"X": x}), warmup, repeats)


def jax_lstm(B, T, H, warmup, repeats):
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    wx = jnp.asarray(rng.standard_normal((T, B, 4 * H)).astype(np.float32))
    r = jnp.asarray((rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(np.float32))
    b = jnp.asarray(rng.standard_normal((4 * H,)).astype(np.float32))
    ds = jnp.asarray(rng.standard_normal((T, B, H)).astype(np.float32))

    def run(wx, r, b):
        def step(carry, x):
            h, c = carry
            g = h @ r + x + b
            i, f, z, o = jnp.split(g, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(z)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        zeros = jnp.zeros((B, H), jnp.float32)
        _, hs = jax.lax.scan(step, (zeros, zeros), wx)
        return hs

    forward = jax.jit(run)
    grad = jax.jit(jax.grad(lambda wx, r, b: jnp.sum(run(wx, r, b) * ds), argnums=(0, 1, 2)))
    fw = timed(lambda: forward(wx, r, b).block_until_ready(), warmup, repeats)
    fwbw = timed(lambda: jax.block_until_ready(grad(wx, r, b)), warmup, repeats)
    return fw, fwbw


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    parser.add_argument("--shapes", help="BxTxH,... (default: the three CPU shapes)")
    args = parser.parse_args()
    shapes = SHAPES if not args.shapes else [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]

    records = []
    print(f"{'B x T x H':<16} {'ORT fw ms (min)':<18} {'JAX fw ms (min)':<18} {'JAX fw+bw ms (min)':<20}")
    for (B, T, H) in shapes:
        record = {"batch": B, "length": T, "hidden": H}
        print(f"[{B}x{T}x{H}] onnxruntime", file=sys.stderr, flush=True)
        try:
            record["ortForwardMedianMs"], record["ortForwardMinMs"] = onnx_lstm(B, T, H, args.threads, args.warmup, args.repeats)
        except Exception as error:  # a missing package is reported, not fatal
            record["ortError"] = repr(error)
        print(f"[{B}x{T}x{H}] jax", file=sys.stderr, flush=True)
        try:
            (record["jaxForwardMedianMs"], record["jaxForwardMinMs"]), \
                (record["jaxForwardBackwardMedianMs"], record["jaxForwardBackwardMinMs"]) = jax_lstm(B, T, H, args.warmup, args.repeats)
        except Exception as error:
            record["jaxError"] = repr(error)
        records.append(record)

        def cell(key):
            median = record.get(key + "MedianMs")
            return "n/a" if median is None else f"{median:.1f} ({record[key + 'MinMs']:.1f})"
        print(f"{f'{B}x{T}x{H}':<16} {cell('ortForward'):<18} {cell('jaxForward'):<18} {cell('jaxForwardBackward'):<20}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=2)


if __name__ == "__main__":
    main()
