#!/usr/bin/env python3
"""Median and p99 of the per-iteration time of every criterion benchmark under target/criterion.

Each criterion sample runs a batch of iterations; its mean per-iteration time is one
observation. Run after `cargo bench`:  python3 bench/criterion_summary.py
"""
import json
import pathlib
import statistics

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"


print("| benchmark | median | p99 | samples |")
print("|---|---|---|---|")
for sample in sorted(root.glob("**/new/sample.json")):
    data = json.loads(sample.read_text())
    per_iter = sorted(t / n for t, n in zip(data["times"], data["iters"]))
    p99 = per_iter[min(len(per_iter) - 1, round(0.99 * (len(per_iter) - 1)))]
    name = sample.parent.parent.relative_to(root).as_posix()
    print(f"| {name} | {fmt(statistics.median(per_iter))} | {fmt(p99)} | {len(per_iter)} |")
