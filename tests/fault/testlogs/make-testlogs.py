#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Regenerate the checker's test logs from the hand-written event lists.

base/*.ev are probe logs without timestamps (one event a line; "+MS event"
shifts this and later lines MS ms later). Each case below copies the good
run, breaks one guarantee by hand and says which violation class the
checker must report ("OK" for the good cases). The generated CASE/*.log
files are kept in the source tree: run this only to change them.
"""
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "base")
dst = here
def stamp(lines, start=0):
    out = []
    extra = 0
    for i, l in enumerate(lines):
        if l.startswith("+"):
            # "+MS event...": this and later lines come MS ms later.
            ms, l = l[1:].split(" ", 1)
            extra += int(ms) * 1000
        mono = 1000000 + (start + i) * 10000 + extra
        out.append("%d %d %s" % (mono, 1700000000000000 + mono, l))
    return out
def load(name):
    return open(os.path.join(src, name + ".ev")).read().strip("\n").split("\n")
def write(case, logs, expect, truncate=None, args=None):
    d = os.path.join(dst, case)
    os.makedirs(d, exist_ok=True)
    for n, lines in logs.items():
        text = "\n".join(stamp(lines)) + "\n"
        if truncate == n:
            text += stamp(["deliver from=2/22 inc=y2 se"], len(lines))[0]
        open(os.path.join(d, n + ".log"), "w").write(text)
    open(os.path.join(d, "expect"), "w").write(expect + "\n")
    if args:
        open(os.path.join(d, "args"), "w").write(args + "\n")
def base():
    return {"a": load("A"), "b": load("B"), "c": load("C")}
def swap(lines, x, y):
    i, j = lines.index(x), lines.index(y)
    lines[i], lines[j] = lines[j], lines[i]
for entry in os.listdir(dst):
    if os.path.isfile(os.path.join(dst, entry, "expect")):
        shutil.rmtree(os.path.join(dst, entry))
write("good", base(), "OK")
write("good-killed", {"x": load("X"), "y": load("Y")}, "OK", truncate="x")

L = base()
swap(L["b"], "deliver from=1/101 inc=a1 seq=2", "deliver from=2/202 inc=b2 seq=2")
write("reorder", L, "order")

L = base()
L["b"].insert(L["b"].index("deliver from=2/202 inc=b2 seq=2") + 1, "deliver from=1/101 inc=a1 seq=2")
write("duplicate", L, "duplicate")

L = base()
for n in ("a", "b", "c"):
    swap(L[n], "deliver from=1/101 inc=a1 seq=1", "deliver from=1/101 inc=a1 seq=2")
write("fifo", L, "fifo")

L = base()
L["a"].remove("deliver from=2/202 inc=b2 seq=2")
write("gap", L, "gap")

L = base()
L["b"][L["b"].index("leader self=0 epoch=524289 node=1 pid=101")] = "leader self=1 epoch=524289 node=2 pid=202"
write("two-leaders", L, "leader-epoch")

# B claims a leadership of its own (a later epoch, as a cut-off leader's
# successor would) while A still leads: the epochs differ, yet two
# processes lead at once. A's leadership ends only when its log does.
L = base()
i = L["b"].index("leader self=0 epoch=786433 node=1 pid=101")
L["b"][i] = "leader self=1 epoch=786434 node=2 pid=202"
write("leaders-overlap", L, "leader-overlap", args="--leader-overlap")
write("leaders-overlap-counted", L, "OK")

L = base()
L["c"][L["c"].index("leader self=0 epoch=0 node=0 pid=0")] = "leader self=1 epoch=524288 node=3 pid=303"
write("leader-unquorate", L, "leader-quorum")

L = base()
L["b"].remove("deliver from=3/303 inc=c3 seq=1")
write("vsync", L, "vsync")

L = base()
for n in ("a", "b"):
    L[n].remove("deliver from=2/202 inc=b2 seq=3")
write("loss", L, "loss")

L = base()
for n in ("a", "b", "c"):
    L[n] = [l.replace("epoch=786433", "epoch=200000") for l in L[n]]
write("epoch-backwards", L, "leader-epoch")

L = base()
L["a"].insert(L["a"].index("deliver from=1/101 inc=a1 seq=3") + 1, "foreign from=3/999 len=5")
write("foreign", L, "probe")

L = base()
i = L["a"].index("deliver from=1/101 inc=a1 seq=4") + 1
L["a"].insert(i, "conn down leader_rc=1 epoch=786433 node=1 pid=101")
L["a"][i + 1] = "+300 " + L["a"][i + 1]
write("leader-disconnect", L, "leader-quorum")

L = base()
L["c"].insert(L["c"].index("uncertain first=3 last=3") + 1, "deliver from=1/101 inc=a1 seq=3")
write("delivery-disconnected", L, "delivery")

L = base()
L["c"].insert(L["c"].index("deliver from=3/303 inc=c3 seq=2") + 1, "uncertain first=2 last=2")
write("uncertain-connected", L, "uncertain")

L = base()
L["c"].remove("quorum quorate=0 ring=3.8 expected=3 total=1 need=2 nodes=3")
write("view-stale-quorum", L, "view")

L = base()
L["b"].insert(L["b"].index("deliver from=1/101 inc=a1 seq=3") + 1, "deliver from=3/303 inc=c3 seq=2")
for n in ("a",):
    L[n].insert(L[n].index("deliver from=1/101 inc=a1 seq=3") + 1, "deliver from=3/303 inc=c3 seq=2")
write("delivery-nonmember", L, "delivery")

L = base()
L["a"] = [l.replace("view seq=2 ", "view seq=3 ").replace("view seq=3 ring=1.c", "view seq=4 ring=1.c") for l in L["a"]]
write("view-seq", L, "view")
