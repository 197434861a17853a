#!/usr/bin/env python3
"""Head-dimension sweep plot (B=16, T=1024, N·D=768, LSTM bfloat16), like upstream's figure:
ours (fused, alternating, from gpu-bench JSON) and upstream (docs numbers measured on this H200).
Plain SVG, no plotting library.   plot_headdim.py FUSED.json ALT.json OUT.svg"""
import json, math, sys

D = [16, 32, 64, 128, 256, 768]
UPSTREAM = {  # shared/guides/performance.md, same machine
    "upstream fused fw": [3.48, 2.94, 2.84, 2.97, 3.51, 4.75],
    "upstream fused fw+bw": [7.91, 7.96, 8.00, 8.45, 9.84, 13.41],
}

def load(path, key):
    by_d = {r["D"]: r.get(key) for r in json.load(open(path))}
    return [by_d.get(d) for d in D]

fused, alt, out = sys.argv[1], sys.argv[2], sys.argv[3]
series = [
    ("cudaFused fw", load(fused, "forwardMs"), "#1f77b4", ""),
    ("cudaFused fw+bw", load(fused, "forwardBackwardMs"), "#1f77b4", "6,3"),
    ("cudaAlternating fw", load(alt, "forwardMs"), "#2ca02c", ""),
    ("cudaAlternating fw+bw", load(alt, "forwardBackwardMs"), "#2ca02c", "6,3"),
    ("upstream fused fw", UPSTREAM["upstream fused fw"], "#d62728", ""),
    ("upstream fused fw+bw", UPSTREAM["upstream fused fw+bw"], "#d62728", "6,3"),
]
W, H, L, R, T, B = 720, 420, 70, 210, 30, 50
lo, hi = 0.1, 100.0
def x(i): return L + i * (W - L - R) / (len(D) - 1)
def y(v): return T + (math.log10(hi) - math.log10(v)) / (math.log10(hi) - math.log10(lo)) * (H - T - B)
s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
     f'<rect width="{W}" height="{H}" fill="white"/>',
     f'<text x="{L}" y="18" font-size="14">LSTM bfloat16, B=16, T=1024, N·D=768 (H200; ms, log scale; missing = not supported)</text>']
for v in [0.1, 0.3, 1, 3, 10, 30, 100]:
    s.append(f'<line x1="{L}" x2="{W-R}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
    s.append(f'<text x="{L-8}" y="{y(v)+4:.1f}" text-anchor="end">{v:g}</text>')
for i, d in enumerate(D):
    s.append(f'<text x="{x(i):.1f}" y="{H-B+18}" text-anchor="middle">{d}×{768//d}</text>')
s.append(f'<text x="{(L+W-R)/2:.0f}" y="{H-10}" text-anchor="middle">head dimension D × heads N</text>')
for k, (name, values, color, dash) in enumerate(series):
    pts = [(x(i), y(v)) for i, v in enumerate(values) if v]
    if len(pts) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        s.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
    for px, py in pts:
        s.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
    ly = T + 20 + 20 * k
    s.append(f'<line x1="{W-R+15}" x2="{W-R+45}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>')
    s.append(f'<text x="{W-R+50}" y="{ly+4}">{name}</text>')
s.append('</svg>')
open(out, "w").write("\n".join(s) + "\n")
