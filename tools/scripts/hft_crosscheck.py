#!/usr/bin/env python3
"""Hand-run cross-check of MIA's simulated venue against hftbacktest (PyPI `hftbacktest`).

The same scripted limit orders on the same input through both:

1. reads a slice of an MBO DBN file written by `mia gen --schema mbo` (DBN v3 MBO records,
   56 bytes each, parsed here with numpy);
2. writes the slice for hftbacktest in its event format (`.npz`, `hftbacktest.event_dtype`):
   an L2 file (DEPTH_EVENT = the total size at a price after each record, TRADE_EVENT, and
   DEPTH_CLEAR_EVENT) and an L3 file (ADD/MODIFY/CANCEL/FILL_ORDER_EVENT with order ids, and
   TRADE_EVENT); and for MIA as `records.csv`;
3. scripts the orders: every `--every-s` seconds of event time, a 1-lot GTC buy at the best bid
   and a 1-lot GTC sell at the best ask (from this script's own book of the slice), written
   to `orders.csv`;
4. runs hftbacktest (risk-averse queue on the L2 file, L3 FIFO queue on the L3 file, both with
   the no-partial-fill exchange (1-lot orders); constant order latency 250 us entry / 250 us response; tick 0.25, lot 1) and
   MIA (`cargo run -p mia-exec --example hft_crosscheck`, models `risk_averse` and `l3_fifo`,
   constant 250 us entry latency) and prints, per model, the fill counts and, per order, the
   exchange-time fill instant in both, side by side.

Usage (from the repository root):

    mia gen --seed 1 --schema mbo --out /tmp/x/s1.mbo.dbn
    python3 tools/scripts/hft_crosscheck.py /tmp/x/s1.mbo.dbn --out /tmp/x/cc \
        --records 300000 --every-s 60

Nothing large is committed: the data files go to `--out`.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

MBO_DTYPE = np.dtype(
    [
        ("length", "u1"),
        ("rtype", "u1"),
        ("publisher_id", "<u2"),
        ("instrument_id", "<u4"),
        ("ts_event", "<u8"),
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("size", "<u4"),
        ("flags", "u1"),
        ("channel_id", "u1"),
        ("action", "S1"),
        ("side", "S1"),
        ("ts_recv", "<u8"),
        ("ts_in_delta", "<i4"),
        ("sequence", "<u4"),
    ]
)
assert MBO_DTYPE.itemsize == 56
TICK = 0.25
PX_SCALE = 1e9


def read_mbo(path, first, count):
    """The MBO records [first, first + count) of a DBN v1-v3 file (metadata header skipped)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:3] != b"DBN":
            sys.exit(f"{path}: not a DBN file")
        meta_len = int.from_bytes(head[4:8], "little")
        f.seek(8 + meta_len + first * MBO_DTYPE.itemsize)
        recs = np.fromfile(f, dtype=MBO_DTYPE, count=count)
    if len(recs) == 0 or not np.all(recs["length"] * 4 == MBO_DTYPE.itemsize):
        sys.exit(f"{path}: expected fixed 56-byte MBO records after the metadata")
    return recs


def convert(recs, every_ns):
    """hftbacktest L2 and L3 event arrays, the MIA records CSV rows and the scripted orders."""
    import hftbacktest as h

    both = h.EXCH_EVENT | h.LOCAL_EVENT
    l2, l3, rows, orders = [], [], [], []
    orders_by_id = {}  # id -> [side, price, size]
    level = ({}, {})  # bids, asks: price -> size
    next_order_ts = None
    oid = 1

    def ev(kind, side, ts, px, qty, order_id=0):
        flag = h.BUY_EVENT if side == b"B" else h.SELL_EVENT if side == b"A" else 0
        return (kind | both | flag, ts, ts, px, qty, order_id, 0, 0.0)

    def touch(side, px_n, ts):
        book = level[0 if side == b"B" else 1]
        l2.append(ev(h.DEPTH_EVENT, side, ts, px_n / PX_SCALE, float(book.get(px_n, 0))))

    def change(side, px_n, delta):
        book = level[0 if side == b"B" else 1]
        q = book.get(px_n, 0) + delta
        if q > 0:
            book[px_n] = q
        else:
            book.pop(px_n, None)

    for r in recs:
        ts = int(r["ts_recv"])
        a, s = r["action"], r["side"]
        oid_m, px_n, size = int(r["order_id"]), int(r["price"]), int(r["size"])
        rows.append(f"{ts},{a.decode()},{s.decode() or 'N'},{oid_m},{px_n},{size}")
        if next_order_ts is None:
            next_order_ts = ts + every_ns
        if ts >= next_order_ts and level[0] and level[1]:
            bid, ask = max(level[0]), min(level[1])
            if bid < ask:
                orders.append((oid, ts, "B", bid, 1))
                orders.append((oid + 1, ts, "S", ask, 1))
                oid += 2
            next_order_ts = ts + every_ns
        px = px_n / PX_SCALE
        if a == b"A":
            orders_by_id[oid_m] = [s, px_n, size]
            change(s, px_n, size)
            touch(s, px_n, ts)
            l3.append(ev(h.ADD_ORDER_EVENT, s, ts, px, float(size), oid_m))
        elif a == b"C":
            o = orders_by_id.get(oid_m)
            if o is None:
                continue
            c = min(size, o[2])
            change(o[0], o[1], -c)
            touch(o[0], o[1], ts)
            o[2] -= c
            if o[2] <= 0:
                del orders_by_id[oid_m]
                l3.append(ev(h.CANCEL_ORDER_EVENT, o[0], ts, o[1] / PX_SCALE, 0.0, oid_m))
            else:
                # A partial cancel keeps priority: hftbacktest's MODIFY with a smaller size.
                l3.append(ev(h.MODIFY_ORDER_EVENT, o[0], ts, o[1] / PX_SCALE, float(o[2]), oid_m))
        elif a == b"M":
            o = orders_by_id.get(oid_m)
            if o is not None:
                change(o[0], o[1], -o[2])
                touch(o[0], o[1], ts)
            orders_by_id[oid_m] = [s, px_n, size]
            change(s, px_n, size)
            touch(s, px_n, ts)
            l3.append(ev(h.MODIFY_ORDER_EVENT, s, ts, px, float(size), oid_m))
        elif a == b"T":
            l2.append(ev(h.TRADE_EVENT, s, ts, px, float(size)))
            l3.append(ev(h.TRADE_EVENT, s, ts, px, float(size)))
        elif a == b"F":
            l3.append(ev(h.FILL_EVENT, s, ts, px, float(size), oid_m))
        elif a == b"R":
            level[0].clear()
            level[1].clear()
            orders_by_id.clear()
            l2.append(ev(h.DEPTH_CLEAR_EVENT, b"", ts, 0.0, 0.0))
            l3.append(ev(h.DEPTH_CLEAR_EVENT, b"", ts, 0.0, 0.0))
    mk = lambda v: np.array(v, dtype=h.event_dtype)
    return mk(l2), mk(l3), rows, orders


def run_hft(data, orders, l3, end_ts):
    """Exchange-time fill instant of each scripted order in hftbacktest (0 = not filled)."""
    import hftbacktest as h
    from numba import njit

    asset = (
        h.BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(250_000, 250_000)
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(TICK)
        .lot_size(1.0)
    )
    # The no-partial-fill exchange for both: hftbacktest 2.4.4 has no partial-fill L3 exchange,
    # and on this L2 slice its partial-fill exchange stops with elapse code 14 after ten
    # orders. The orders are 1 lot, so a fill is whole either way.
    asset = asset.no_partial_fill_exchange()
    asset = asset.l3_fifo_queue_model() if l3 else asset.risk_adverse_queue_model()
    hbt = h.HashMapMarketDepthBacktest([asset])
    gtc, limit, filled = h.GTC, h.LIMIT, h.FILLED
    ids = np.array([o[0] for o in orders], dtype=np.uint64)
    tss = np.array([o[1] for o in orders], dtype=np.int64)
    buy = np.array([o[2] == "B" for o in orders])
    pxs = np.array([o[3] / PX_SCALE for o in orders], dtype=np.float64)
    fill_ts = np.zeros(len(orders), dtype=np.int64)
    fill_qty = np.zeros(len(orders), dtype=np.float64)

    @njit
    def loop(hbt, ids, tss, buy, pxs, fill_ts, fill_qty, end_ts):
        n = len(ids)
        i = 0
        code = 0
        while True:
            now = hbt.current_timestamp
            target = tss[i] if i < n else end_ts
            step = min(target - now, 100_000_000)
            if step > 0:
                code = hbt.elapse(step)
                if code != 0:
                    break
            now = hbt.current_timestamp
            while i < n and tss[i] <= now:
                if buy[i]:
                    hbt.submit_buy_order(0, ids[i], pxs[i], 1.0, gtc, limit, False)
                else:
                    hbt.submit_sell_order(0, ids[i], pxs[i], 1.0, gtc, limit, False)
                i += 1
            ords = hbt.orders(0)
            for j in range(i):
                if fill_ts[j] == 0:
                    o = ords.get(ids[j])
                    if o is not None and o.exec_qty > 0 and o.status == filled:
                        fill_ts[j] = o.exch_timestamp
                        fill_qty[j] = o.qty
            if i >= n and now >= end_ts:
                break
        return i, code

    hbt.elapse(1)  # the clock starts at the first event
    submitted, code = loop(hbt, ids, tss, buy, pxs, fill_ts, fill_qty, end_ts)
    ords = hbt.orders(0)
    status = {}
    for j in range(len(ids)):
        o = ords.get(ids[j])
        key = "missing" if o is None else int(o.status)
        status[key] = status.get(key, 0) + 1
    print(f"  hftbacktest: {submitted} submitted, stopped at {hbt.current_timestamp} with elapse code {code} "
          f"(1 = end of data), order status counts {status}")
    hbt.close()
    return fill_ts


def run_mia(out, model):
    """Exchange-time instant of the fill completing each order in MIA's venue."""
    cmd = [
        "cargo", "run", "-q", "-p", "mia-exec", "--example", "hft_crosscheck", "--",
        os.path.join(out, "records.csv"), os.path.join(out, "orders.csv"), model,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    done = {}
    for line in res.stdout.splitlines()[1:]:
        oid, ts, _px, _qty, leaves = line.split(",")
        if leaves == "0":
            done[int(oid)] = int(ts)
    return done, res.stderr.strip()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mbo_dbn")
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=int, default=0, help="first record of the slice")
    p.add_argument("--records", type=int, default=300_000)
    p.add_argument("--every-s", type=float, default=60.0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    recs = read_mbo(a.mbo_dbn, a.first, a.records)
    l2, l3, rows, orders = convert(recs, int(a.every_s * 1e9))
    np.savez_compressed(os.path.join(a.out, "slice_l2.npz"), data=l2)
    np.savez_compressed(os.path.join(a.out, "slice_l3.npz"), data=l3)
    with open(os.path.join(a.out, "records.csv"), "w") as f:
        f.write("ts,action,side,order_id,price_nanos,size\n" + "\n".join(rows) + "\n")
    with open(os.path.join(a.out, "orders.csv"), "w") as f:
        f.write("id,ts,side,price_nanos,qty\n")
        for o in orders:
            f.write(",".join(str(x) for x in o) + "\n")
    end_ts = int(recs["ts_recv"][-1])
    print(f"slice: {len(recs)} MBO records, {len(l2)} L2 / {len(l3)} L3 hftbacktest events, "
          f"{len(orders)} scripted orders, {(end_ts - int(recs['ts_recv'][0])) / 1e9:.0f} s")
    for model, data, is_l3 in [("risk_averse", l2, False), ("l3_fifo", l3, True)]:
        hft = run_hft(data, orders, is_l3, end_ts)
        mia, desc = run_mia(a.out, model)
        n_h = int(np.count_nonzero(hft))
        n_m = len(mia)
        both = [(o, hft[k], mia.get(o[0], 0)) for k, o in enumerate(orders) if hft[k] and o[0] in mia]
        same = sum(1 for _, th, tm in both if th == tm)
        diffs = [(tm - th) / 1e6 for _, th, tm in both]
        print(f"\n[{model}] MIA venue: {desc}")
        print(f"  filled: hftbacktest {n_h} / MIA {n_m} of {len(orders)}; filled in both {len(both)}, "
              f"same instant {same}")
        if diffs:
            d = np.array(diffs)
            print(f"  MIA - hftbacktest fill time, ms: median {np.median(d):.3f}, min {d.min():.3f}, "
                  f"max {d.max():.3f}")
        print("  id side price       hft_fill_ts           mia_fill_ts           mia-hft_ms")
        for k, o in enumerate(orders):
            th, tm = int(hft[k]), mia.get(o[0], 0)
            dd = f"{(tm - th) / 1e6:.3f}" if th and tm else "-"
            print(f"  {o[0]:3d} {o[2]}  {o[3] / PX_SCALE:9.2f}  {th:20d}  {tm:20d}  {dd}")


if __name__ == "__main__":
    main()
