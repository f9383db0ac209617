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

`--explain` explains every order whose fill instant differs: it replays the slice with the
scripted orders under hftbacktest's fill rules (checked: it must reproduce hftbacktest's fill
instants), then switches the rules to MIA's one at a time (the last set must reproduce MIA's),
and names, per order, the rule switches that move its fill instant; it prints the evidence per
order (how each engine filled it, the queue ahead at the join) and a table of counts per cause.
An order the replays do not reproduce is reported as having no identified cause.
`--partial-fill` also runs hftbacktest's L2 partial-fill exchange and shows where and why it
stops with `elapse` code 14.

Usage (from the repository root):

    mia gen --seed 1 --schema mbo --out /tmp/x/s1.mbo.dbn
    python3 tools/scripts/hft_crosscheck.py /tmp/x/s1.mbo.dbn --out /tmp/x/cc \
        --records 100000 --every-s 600 --explain --partial-fill

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


def run_hft(data, orders, l3, end_ts, partial=False):
    """Exchange-time fill instant of each scripted order in hftbacktest (0 = not filled), and
    where the run stopped: (elapse code, timestamp, {order id: (status, exch_timestamp)})."""
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
    # and its L2 partial-fill exchange stops with elapse code 14 (`InvalidOrderStatus`) at the
    # second event that reaches a 1-lot order it has filled from its queue (see `--partial-fill`
    # and docs/execution.md). The orders are 1 lot, so a fill is whole either way.
    asset = asset.partial_fill_exchange() if partial else asset.no_partial_fill_exchange()
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
    states = {}
    for j in range(len(ids)):
        o = ords.get(ids[j])
        key = "missing" if o is None else int(o.status)
        status[key] = status.get(key, 0) + 1
        if o is not None:
            states[int(ids[j])] = (int(o.status), int(o.exch_timestamp))
    stop = int(hbt.current_timestamp)
    print(f"  hftbacktest: {submitted} submitted, stopped at {stop} with elapse code {code} "
          f"(1 = end of data), order status counts {status}")
    hbt.close()
    return fill_ts, (int(code), stop, states)


def run_mia(out, model, detail=None):
    """Exchange-time instant of the fill completing each order in MIA's venue (`detail`: the
    example's detail file to write)."""
    cmd = [
        "cargo", "run", "-q", "-p", "mia-exec", "--example", "hft_crosscheck", "--",
        os.path.join(out, "records.csv"), os.path.join(out, "orders.csv"), model,
    ] + ([detail] if detail else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    done = {}
    for line in res.stdout.splitlines()[1:]:
        oid, ts, _px, _qty, leaves = line.split(",")
        if leaves == "0":
            done[int(oid)] = int(ts)
    return done, res.stderr.strip()


# --- explain mode: a replay of the slice under each engine's fill rules ---
LATENCY_NS = 250_000
DEPTH = 10


class _Book:
    """Full-depth aggregate of the slice's market orders (the converter's L2 view), per side."""

    def __init__(self):
        self.lv = ({}, {})  # bids, asks: price -> size

    def add(self, s, p, q):
        d = self.lv[s]
        n = d.get(p, 0) + q
        if n > 0:
            d[p] = n
        else:
            d.pop(p, None)

    def best(self, s):
        d = self.lv[s]
        if not d:
            return None
        return max(d) if s == 0 else min(d)

    def visible(self, s, p):
        """MIA's `level_qty_at` on a 10-level replica: the size, 0 for an empty price inside or
        better than the visible book, None beyond it (or on an empty side)."""
        d = self.lv[s]
        if not d:
            return None
        top = sorted(d, reverse=(s == 0))[:DEPTH]
        if p in top:
            return d[p]
        best, worst = top[0], top[-1]
        inside = (worst < p < best) if s == 0 else (best < p < worst)
        better = p > best if s == 0 else p < best
        return 0 if inside or better else None

    def in_top(self, s, p):
        d = self.lv[s]
        top = sorted(d, reverse=(s == 0))[:DEPTH]
        return p in top or (len(top) < DEPTH) or (p > top[-1] if s == 0 else p < top[-1])


def _records(recs):
    """(ts, action, side 0/1/None, order_id, price, size) per record."""
    out = []
    for r in recs:
        s = r["side"]
        out.append((int(r["ts_recv"]), r["action"].decode(), 0 if s == b"B" else 1 if s == b"A" else None,
                    int(r["order_id"]), int(r["price"]), int(r["size"])))
    return out


def replay(rows, orders, model, cfg):
    """Replays the slice with the scripted 1-lot orders under a rule set and returns, per order id,
    (fill instant or 0, how). `cfg` switches one rule at a time from hftbacktest's to MIA's:
    cross (hft fills a resting order when the opposite best reaches its price without a print),
    depth10 (L2 only: the queue sees MIA's 10 visible levels), l3_print (L3 only: MIA fills from the
    `T` print against the FIFO queue ahead, hftbacktest from the `F` of an order behind), through
    (prints through a resting price fill it, as MIA does; hftbacktest's L3 exchange ignores
    prints), share (own orders share a print in time priority, as MIA does), arrival_stamp (a fill
    on arrival is stamped at the arrival instant, as hftbacktest does, or at the next record, as
    MIA does)."""
    book = _Book()
    mkt = {}  # order id -> [side, price, size, stamp]
    by_id = {}  # converter's view for C/M: id -> [side, price, size]
    stamp = [0]

    def next_stamp():
        stamp[0] += 1
        return stamp[0]

    own = []
    pending = sorted(orders, key=lambda o: (o[1], o[0]))
    pi = 0
    res = {o[0]: (0, "") for o in orders}
    ahead0 = {}

    def fill(o, ts, how):
        o["live"] = False
        res[o["id"]] = (ts, how)

    def live(side=None, px=None):
        return [o for o in own if o["live"] and (side is None or o["side"] == side)
                and (px is None or o["px"] == px)]

    def arrive(o, ts_rec):
        s, p = o["side"], o["px"]
        opp = book.best(1 - s)
        stamp_ts = o["arr"] if cfg["arrival_stamp_hft"] else ts_rec
        if opp is not None and ((s == 0 and p >= opp) or (s == 1 and p <= opp)):
            fill(o, stamp_ts, "marketable at arrival")
            return
        o["stamp"] = next_stamp()
        if model == "l2":
            if cfg["depth10"]:
                v = book.visible(s, p)
                o["q"], o["seen"] = v, v
            else:
                o["q"] = book.lv[s].get(p, 0)
        ahead0[o["id"]] = o.get("q") if model == "l2" else sum(m[2] for m in mkt.values()
                                                               if m[0] == s and m[1] == p)

    def cross(side_changed, prev_best, ts):
        if not cfg["cross"]:
            return
        nb = book.best(side_changed)
        if nb is None:
            return
        if side_changed == 1 and (prev_best is None or nb < prev_best):
            for o in live(0):
                if o["px"] >= nb:
                    fill(o, ts, "book cross without a print")
        if side_changed == 0 and (prev_best is None or nb > prev_best):
            for o in live(1):
                if o["px"] <= nb:
                    fill(o, ts, "book cross without a print")

    def l2_caps(s, p, rec_in_top):
        for o in live(s):
            if cfg["depth10"]:
                if not rec_in_top:
                    continue
                v = book.visible(s, o["px"])
                if v is not None and v != o["seen"]:
                    o["q"] = v if o["q"] is None else min(o["q"], v)
                    o["seen"] = v
            elif o["px"] == p:
                o["q"] = min(o["q"], book.lv[s].get(p, 0))

    def on_trade(ts, aggr, p, q):
        # aggr: 0 buyer, 1 seller; a print reaches resting orders on the other side.
        s = 1 - aggr
        avail = q
        # Prints through the price.
        thr = []
        for o in live(s):
            if (s == 0 and o["px"] > p) or (s == 1 and o["px"] < p):
                thr.append(o)
        if model == "l2" and not cfg["through_all"]:
            # hftbacktest checks only the prices between the other side's best and the print.
            b = book.best(aggr)
            if b is not None:
                thr = [o for o in thr if (o["px"] < b if s == 0 else o["px"] > b)]
        if cfg["through_any_aggressor"]:
            # MIA: a print below a resting buy (above a resting sell) fills it whoever the
            # aggressor was (a buyer lifting an offer below our bid: the book crossed our order).
            for o in live(aggr):
                if (aggr == 0 and o["px"] > p) or (aggr == 1 and o["px"] < p):
                    thr.append(o)
        if model == "l2" or cfg["through"]:
            thr.sort(key=lambda o: (-(o["px"] - p) if o["side"] == 0 else -(p - o["px"]), o["stamp"]))
            for o in thr:
                if cfg["share"]:
                    if avail <= 0:
                        break
                    avail -= 1
                fill(o, ts, "print through its price")
        at = sorted(live(s, p), key=lambda o: o["stamp"])
        if model == "l2":
            if cfg["share"]:
                left = None
                for o in at:
                    if o["q"] is None:
                        # MIA: an unknown queue is "as large as the first size seen": the
                        # print cannot pass it, nor reach the orders behind it.
                        left = 0 if left is None else left
                        continue
                    if left is None:
                        left = max(avail - max(o["q"], 0), 0)
                    o["q"] -= q
                    if o["q"] <= -1 and left >= 1:
                        left -= 1
                        fill(o, ts, "print at its price")
                    elif o["q"] <= -1:
                        o["q"] = 0 if o["q"] < 0 else o["q"]
            else:
                for o in at:
                    if o["q"] is None:
                        continue
                    o["q"] -= q
                    if o["q"] <= -1:
                        fill(o, ts, "print at its price")
        elif cfg["l3_print"]:
            older = 0
            left = avail
            for o in at:
                ahead = sum(m[2] for m in mkt.values() if m[0] == s and m[1] == p and m[3] < o["stamp"])
                reach = q - ahead - (older if cfg["share"] else 0)
                older += 1
                if reach >= 1 and (left >= 1 or not cfg["share"]):
                    left -= 1
                    fill(o, ts, "print at its price")

    for i, (ts, a, s, oid, p, q) in enumerate(rows):
        while pi < len(pending) and pending[pi][1] + LATENCY_NS < ts:
            oo = pending[pi]
            o = {"id": oo[0], "side": 0 if oo[2] == "B" else 1, "px": oo[3], "arr": oo[1] + LATENCY_NS,
                 "live": True, "q": None, "seen": None}
            own.append(o)
            arrive(o, ts)
            pi += 1
        if a in "ACM":
            if a == "A":
                if s is None:
                    continue
                by_id[oid] = [s, p, q]
                mkt[oid] = [s, p, q, next_stamp()]
                chg = [(s, p, q)]
            elif a == "C":
                o = by_id.get(oid)
                if o is None:
                    continue
                c = min(q, o[2])
                o[2] -= c
                chg = [(o[0], o[1], -c)]
                m = mkt.get(oid)
                if m is not None:
                    m[2] -= c
                    if m[2] <= 0:
                        del mkt[oid]
                if o[2] <= 0:
                    del by_id[oid]
            else:
                old = by_id.get(oid)
                chg = []
                if old is not None:
                    chg.append((old[0], old[1], -old[2]))
                by_id[oid] = [s, p, q]
                chg.append((s, p, q))
                m = mkt.get(oid)
                if m is None or m[1] != p or q > m[2]:
                    mkt[oid] = [s, p, q, next_stamp()]
                else:
                    m[2] = q
            for cs, cp, cq in chg:
                prev_best = book.best(cs)
                top_before = book.in_top(cs, cp)
                book.add(cs, cp, cq)
                if model == "l2":
                    l2_caps(cs, cp, top_before or book.in_top(cs, cp))
                if a != "C":
                    cross(cs, prev_best, ts)
        elif a == "T":
            if s is None:
                continue
            on_trade(ts, s, p, q)
        elif a == "F":
            if model == "l3" and not cfg["l3_print"] and s is not None:
                m = mkt.get(oid)
                if m is not None:
                    ms, mp = m[0], m[1]
                    b = book.best(ms)
                    # hftbacktest: own orders at a better price than a filled market order,
                    # up to the market's best, fill too.
                    if b is not None and (mp < b if ms == 0 else mp > b):
                        for o in live(ms):
                            if (mp < o["px"] <= b) if ms == 0 else (b <= o["px"] < mp):
                                fill(o, ts, "fill record of a worse-priced order")
                    for o in live(ms, mp):
                        if o["stamp"] < m[3]:
                            fill(o, ts, "fill record of an order behind it")
        elif a == "R":
            for o in live():
                o["live"] = False
                res[o["id"]] = (0, "expired by a clear")
            book = _Book()
            mkt.clear()
            by_id.clear()
    return res, ahead0


# The rule sets between hftbacktest's and MIA's, one rule at a time (`replay`'s switches). The
# first is hftbacktest's (it must reproduce hftbacktest's fill instants), the last MIA's (it must
# reproduce MIA's); the step at which an order's fill instant moves names the rule that makes
# the gap.
BASE_RULES = dict(cross=True, depth10=False, share=False, arrival_stamp_hft=True, through_all=False,
                  through=False, through_any_aggressor=False, l3_print=False)
STEPS = {
    "l2": [
        ("cross", "hftbacktest fills on a book cross without a print; MIA waits for a print",
         dict(cross=False)),
        ("arrival stamp", "a fill on arrival: hftbacktest stamps the arrival instant, MIA the next record",
         dict(arrival_stamp_hft=False)),
        ("10 levels", "MIA's L2 queue sees 10 levels (join and caps), hftbacktest's the full depth",
         dict(depth10=True)),
        ("through", "MIA fills on any print through the price (either aggressor, any price); "
         "hftbacktest checks only the passive side between the other best and the print",
         dict(through_all=True, through_any_aggressor=True)),
        ("share", "MIA's own orders share a print in time priority; hftbacktest's do not",
         dict(share=True)),
    ],
    "l3": [
        ("cross", "hftbacktest fills on a book cross without a print (an add at or through the "
         "price); MIA waits for a print", dict(cross=False)),
        ("arrival stamp", "a fill on arrival: hftbacktest stamps the arrival instant, MIA the next record",
         dict(arrival_stamp_hft=False)),
        ("through", "MIA fills on a print through the price (either aggressor); hftbacktest's L3 "
         "exchange ignores prints (it fills from fill records and crosses only)",
         dict(through=True, through_any_aggressor=True)),
        ("T vs F", "MIA fills from the T print against the FIFO size ahead, hftbacktest from the F "
         "record of an order behind", dict(l3_print=True)),
        ("share", "MIA's own orders share a print in time priority; hftbacktest's do not",
         dict(share=True)),
    ],
}


def read_detail(path):
    """MIA's queue ahead at the join, per order id, from the example's detail file."""
    ahead = {}
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split(",")
            if c[0] == "ack":
                ahead[int(c[1])] = None if c[5] == "-" else float(c[5])
    return ahead


def explain(rows, orders, model, hft, mia, mia_ahead):
    """Explains every order whose fill instant differs between hftbacktest (`hft`: array in
    `orders` order) and MIA (`mia`: id -> instant): replays the slice under hftbacktest's rules,
    then switches them to MIA's one at a time, and names the switches that move the order's
    fill instant. Prints the per-order evidence and the per-cause table."""
    kind = "l3" if model == "l3_fifo" else "l2"
    hft_by_id = {o[0]: int(hft[k]) for k, o in enumerate(orders)}
    rules = dict(BASE_RULES)
    if kind == "l3":
        rules["through_all"] = True  # the L2-only range rule does not apply
    runs = [("hftbacktest rules", replay(rows, orders, kind, rules))]
    for name, _desc, change in STEPS[kind]:
        rules.update(change)
        runs.append((name, replay(rows, orders, kind, rules)))
    base, final = runs[0][1][0], runs[-1][1][0]
    rep_h = sum(1 for o in orders if base[o[0]][0] == hft_by_id[o[0]])
    rep_m = sum(1 for o in orders if final[o[0]][0] == mia.get(o[0], 0))
    print(f"\n[{model}] explain: the replay under hftbacktest's rules reproduces hftbacktest's fill "
          f"instant for {rep_h} of {len(orders)} orders, under MIA's rules MIA's for {rep_m}")
    for (name, (res, _)), prev in zip(runs[1:], runs[:-1]):
        moved = sum(1 for o in orders if res[o[0]][0] != prev[1][0][o[0]][0])
        print(f"  step {name!r}: moves {moved} orders")
    causes = {}
    print("  divergent orders (MIA - hftbacktest, s; queue ahead at the join by hftbacktest's rule / in MIA "
          "after the event that activated the order):")
    print("   id side   price     mia-hft_s  hft fill by                         MIA fill by"
          "                      ahead hft/MIA  cause")
    for o in orders:
        oid = o[0]
        th, tm = hft_by_id[oid], mia.get(oid, 0)
        if th == tm:
            continue
        traj = [r[0][oid][0] for _, r in runs]
        if traj[0] != th or traj[-1] != tm:
            cause = "no identified cause (the replay does not reproduce both engines)"
        else:
            cause = " + ".join(runs[i][0] for i in range(1, len(runs)) if traj[i] != traj[i - 1])
        d = (tm - th) / 1e9 if th and tm else None
        c = causes.setdefault(cause, [0, 0, 0, []])
        c[0] += 1
        if d is not None:
            c[1 if d < 0 else 2] += 1
            c[3].append(d)
        a_h = runs[0][1][1].get(oid)
        a_m = mia_ahead.get(oid)
        fmt = lambda a: "-" if a is None else f"{a:g}"
        print(f"  {oid:3d} {o[2]}  {o[3] / PX_SCALE:9.2f}  {d if d is not None else float('nan'):11.3f}  "
              f"{base[oid][1]:34s}  {final[oid][1]:31s}  {fmt(a_h):>5s}/{fmt(a_m):<5s}  {cause}")
    print(f"  per cause ({model}):")
    print("  | cause | orders | MIA earlier | MIA later | median MIA - hft |")
    print("  |---|---|---|---|---|")
    for cause, (n, e, l, ds) in sorted(causes.items(), key=lambda kv: -kv[1][0]):
        med = f"{np.median(ds):+.2f} s" if ds else "-"
        print(f"  | {cause} | {n} | {e} | {l} | {med} |")
    print("  rules: " + "; ".join(f"{n}: {d}" for n, d, _ in STEPS[kind]))


def explain_partial(rows, orders, l2, end_ts):
    """Runs hftbacktest's L2 partial-fill exchange on the same orders and shows why it stops."""
    print("\n[partial_fill_exchange, risk_adverse_queue_model, L2]")
    _fills, (code, stop, states) = run_hft(l2, orders, False, end_ts, partial=True)
    if code != 14:
        return
    import hftbacktest as h

    by_id = {o[0]: o for o in orders}
    # The failing `elapse` leaves the clock where it was: the event is in the next 100 ms step.
    at_stop = [r for r in rows if stop < r[0] <= stop + 100_000_000]
    print("  code 14 = BacktestError::InvalidOrderStatus (py-hftbacktest handle_result): "
          "PartialFillExchange::fill was called for an order already Filled/Canceled/Expired.")
    print(f"  records in the failing step ({stop}, +100 ms]: " +
          "; ".join(f"{t} {a} {'BA'[s] if s is not None else 'N'} {p / PX_SCALE:.2f} x{q}"
                    for t, a, s, _, p, q in at_stop if a in "TA"))
    for oid, (st, ts) in sorted(states.items()):
        o = by_id[oid]
        side = 0 if o[2] == "B" else 1
        # The prints in the failing step that reach this order (at or through its price).
        hits = [r for r in at_stop if r[1] == "T" and r[2] == 1 - side and
                ((side == 0 and r[4] <= o[3]) or (side == 1 and r[4] >= o[3]))]
        if len(hits) >= 2:
            state = "Filled" if st == h.FILLED else f"status {st} locally (the fill report was in flight)"
            print(f"  order {oid} ({o[2]} {o[3] / PX_SCALE:.2f}, 1 lot, {state}) is reached by "
                  f"{len(hits)} prints in the failing step: " +
                  "; ".join(f"{t} {p / PX_SCALE:.2f} x{q}" for t, _, _, _, p, q in hits) +
                  ": the first one at its price exhausts its queue and fills the whole lot "
                  "(filled_qty == leaves_qty, so check_if_*_filled does not queue it for removal), "
                  "the next one reaches it in the book again and fill() refuses a Filled order.")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mbo_dbn")
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=int, default=0, help="first record of the slice")
    p.add_argument("--records", type=int, default=300_000)
    p.add_argument("--every-s", type=float, default=60.0)
    p.add_argument("--explain", action="store_true",
                   help="explain every fill-instant gap order by order (replays both engines' rules)")
    p.add_argument("--partial-fill", action="store_true",
                   help="also run hftbacktest's L2 partial-fill exchange and explain where it stops")
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
    rows = _records(recs) if a.explain or a.partial_fill else None
    for model, data, is_l3 in [("risk_averse", l2, False), ("l3_fifo", l3, True)]:
        hft, _stop = run_hft(data, orders, is_l3, end_ts)
        detail = os.path.join(a.out, f"mia_detail_{model}.csv") if a.explain else None
        mia, desc = run_mia(a.out, model, detail)
        n_h = int(np.count_nonzero(hft))
        n_m = len(mia)
        both = [(o, hft[k], mia.get(o[0], 0)) for k, o in enumerate(orders) if hft[k] and o[0] in mia]
        same = sum(1 for _, th, tm in both if th == tm)
        diffs = [(tm - th) / 1e6 for _, th, tm in both]
        print(f"\n[{model}] MIA venue: {desc}")
        print(f"  filled: hftbacktest {n_h} / MIA {n_m} of {len(orders)}; filled in both {len(both)}, "
              f"same instant {same}")
        if diffs:
            d = np.array(diffs) / 1e3
            q1, q2, q3 = np.percentile(d, [25, 50, 75])
            print(f"  MIA - hftbacktest fill time, s: MIA earlier {int(np.sum(d < 0))}, later "
                  f"{int(np.sum(d > 0))}, within 1 s {int(np.sum(np.abs(d) <= 1))}; quartiles "
                  f"{q1:+.2f} / {q2:+.2f} / {q3:+.2f}, min {d.min():+.2f}, max {d.max():+.2f}")
        print("  id side price       hft_fill_ts           mia_fill_ts           mia-hft_ms")
        for k, o in enumerate(orders):
            th, tm = int(hft[k]), mia.get(o[0], 0)
            dd = f"{(tm - th) / 1e6:.3f}" if th and tm else "-"
            print(f"  {o[0]:3d} {o[2]}  {o[3] / PX_SCALE:9.2f}  {th:20d}  {tm:20d}  {dd}")
        if a.explain:
            explain(rows, orders, model, hft, mia, read_detail(detail))
    if a.partial_fill:
        explain_partial(rows, orders, l2, end_ts)


if __name__ == "__main__":
    main()
