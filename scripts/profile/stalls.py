#!/usr/bin/env python3
"""Summarise an ncu --page source --print-source sass --csv dump: stall reasons in total and the
hottest instructions with their top stall reasons and a little context. Usage: stalls.py FILE [TOP]"""
import csv, sys, collections
path = sys.argv[1]; top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
rows = list(csv.reader(open(path)))
name = rows[0][1] if rows and rows[0] and rows[0][0] == "Kernel Name" else "?"
hdr = rows[1]; data = [r for r in rows[2:] if len(r) == len(hdr)]
ix = {h: i for i, h in enumerate(hdr)}
stall_cols = [h for h in hdr if h.startswith("stall_") and "Not Issued" not in h]
tot = collections.Counter(); samples = []
for r in data:
    s = int(float(r[ix["Warp Stall Sampling (All Samples)"]] or 0))
    samples.append(s)
    for h in stall_cols: tot[h] += int(float(r[ix[h]] or 0))
total = sum(samples)
print(f"kernel: {name}\ninstructions: {len(data)}  samples: {total}")
print("stall reasons:", ", ".join(f"{k[6:]} {100*v/max(total,1):.1f}%" for k, v in tot.most_common(10)))
order = sorted(range(len(data)), key=lambda i: -samples[i])[:top]
for i in sorted(order):
    r = data[i]; st = sorted(((int(float(r[ix[h]] or 0)), h[6:]) for h in stall_cols), reverse=True)[:3]
    print(f"{100*samples[i]/max(total,1):5.1f}% {r[ix['Address']]:>6} {r[ix['Source']][:80]:80} | " + " ".join(f"{n}:{v}" for v, n in st if v))
