# cuDNN LSTM (torch.nn.LSTM) at the dense shapes the fused kernels run, timed like the harness.
import torch, triton
torch.backends.cudnn.benchmark = True
for H, dt in [(64, torch.float32), (128, torch.float16), (768, torch.float16)]:
    lstm = torch.nn.LSTM(H, H, batch_first=True).cuda().to(dt); lstm.flatten_parameters()
    x = torch.randn(16, 1024, H, device="cuda", dtype=dt, requires_grad=True)
    fw = triton.testing.do_bench(lambda: lstm(x), return_mode="median")
    def fwbw():
        y, _ = lstm(x); y.sum().backward()
    fb = triton.testing.do_bench(fwbw, return_mode="median")
    print(f"CUDNN lstm H={H} {str(dt).split('.')[-1]} B=16 T=1024 | forward {fw:.3f} ms, fw+bw {fb:.3f} ms", flush=True)
