#!/usr/bin/env python3
"""Walk-forward table of docs/strategy.md ("Honest edge").

Runs `mia backtest` (one synthetic trading day per seed) for the signal engine and the two
baselines on the same days, and prints per strategy and seed set: round trips, net P&L after
the config's fees (the summary's net_pnl_usd), the same minus one extra ES tick (12.50 USD per
contract) on every market-order side (entries; exits other than a profit-target limit), and
the mean per day with its standard error. Seeds A are the selection set, seeds B the report set.

usage: walkforward.py MIA_BINARY OUT_DIR [A_FIRST-A_LAST] [B_FIRST-B_LAST] [--days N]

With --days N each seed runs N consecutive trading days (one run per seed); the per-day mean
and standard error are the per-run figures divided by N. The row "elite-risk30" is the engine
with `[signal.trend] max_risk_ticks = 30` (twice SIGNALS' 15): an exploratory variant that
shows how much of the engine's silence the stop-distance cap causes; it is not selected on
either seed set.
"""
import csv, math, os, subprocess, sys

TICK_USD = 12.50
STRATS = {
    "elite": '[signal]\nstrategy = "elite"\n',
    "threshold": '[signal]\nstrategy = "threshold"\n',
    "random": '[signal]\nstrategy = "random"\n',
    "elite-risk30": '[signal]\nstrategy = "elite"\n[signal.trend]\nmax_risk_ticks = 30\n',
}
DAYS = 1


def seeds(s):
    a, b = s.split("-")
    return range(int(a), int(b) + 1)


def run(mia, out, strat, seed):
    d = os.path.join(out, f"{strat}-{seed}")
    cfg = os.path.join(out, f"{strat}.toml")
    with open(cfg, "w") as f:
        f.write(STRATS[strat] + "\n[journal]\nenabled = false\n")
    subprocess.run([mia, "backtest", "--seed", str(seed), "--days", str(DAYS), "--config", cfg, "--out", d],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    net = 0.0
    for line in open(os.path.join(d, "summary.txt")):
        if line.startswith("net_pnl_usd:"):
            net = float(line.split(":")[1])
    trips, extra = 0, 0.0
    path = os.path.join(d, "trades.csv")
    if os.path.exists(path):
        for r in csv.DictReader(open(path)):
            trips += 1
            q = float(r["qty"])
            extra += TICK_USD * q * (1 + (r["exit_reason"] != "target"))
    return trips, net, net - extra


def main():
    global DAYS
    args = sys.argv[1:]
    if "--days" in args:
        i = args.index("--days")
        DAYS = int(args[i + 1])
        del args[i:i + 2]
    mia, out = args[0], args[1]
    a = seeds(args[2] if len(args) > 2 else "1-10")
    b = seeds(args[3] if len(args) > 3 else "11-30")
    os.makedirs(out, exist_ok=True)
    print("| strategy | seeds | days | round trips | net USD (fees) | net USD (fees + 1 tick/market side) | mean/day | s.e./day |")
    print("|---|---|---|---|---|---|---|---|")
    for name, ss in (("A", a), ("B", b)):
        for strat in STRATS:
            rows = [run(mia, out, strat, s) for s in ss]
            n = len(rows)
            per = [r[2] for r in rows]
            mean = sum(per) / n
            se = math.sqrt(sum((x - mean) ** 2 for x in per) / (n - 1) / n) if n > 1 else 0.0
            mean, se = mean / DAYS, se / DAYS
            print(f"| {strat} | {name} {ss.start}-{ss.stop - 1} | {n * DAYS} | {sum(r[0] for r in rows)} | "
                  f"{sum(r[1] for r in rows):.2f} | {sum(per):.2f} | {mean:.2f} | {se:.2f} |")


if __name__ == "__main__":
    main()
