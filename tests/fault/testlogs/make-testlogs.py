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
    mono = 1000000 + (start - 1) * 10000
    for l in lines:
        mono += 10000
        if l.startswith("+"):
            # "+MS event...": this and later lines come MS ms later.
            ms, l = l[1:].split(" ", 1)
            mono += int(ms) * 1000
        elif l.startswith("@"):
            # "@MS event...": this line at MS ms (fractions allowed: the
            # clock counts microseconds), later lines 10 ms apart after it.
            ms, l = l[1:].split(" ", 1)
            mono = 1000000 + round(float(ms) * 1000)
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
def lead():
    return {"l1": load("L1"), "l2": load("L2"), "l3": load("L3")}
def retime(lines, prefix, at):
    """The line starting with prefix, moved to time at (ms)."""
    for i, l in enumerate(lines):
        if l.lstrip("@0123456789. ").startswith(prefix):
            lines[i] = "@%s %s" % (at, l.split(" ", 1)[1] if l.startswith("@") else l)
            return
    raise ValueError(prefix)
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

# Leadership v2 (sticky, lease, takeover delay): the leader's node 1 is
# isolated at 2 s; node 1 loses quorum and steps down at 5.66 s; node 2 is
# elected with node 1 missing and promoted after the takeover delay at
# 9.36 s; the heal at 12 s moves nothing. Times are exact: "@MS" lines.
STRICT = "--leader-overlap --no-failback"
write("lead-good", lead(), "OK",
      args=STRICT + " --expect-leaderships 2 --expect-moves 1")

# Node 2 told it leads 0.3 ms before node 1 is told it does not: a
# fraction of a millisecond of two leaders must fail...
L = lead()
retime(L["l2"], "leader self=1 epoch=200", "5659.7")
write("lead-overlap-submillisecond", L, "leader-overlap", args=STRICT)
# ... and 50 microseconds after it must pass (half-open intervals).
L = lead()
retime(L["l2"], "leader self=1 epoch=200", "5660.05")
write("lead-adjacent", L, "OK", args=STRICT)

# A fail-back: after the heal node 2, connected and quorate, is demoted
# and node 1 leads again (what a non-sticky election does at a heal).
def failback():
    L = lead()
    i = L["l2"].index("@12000 quorum quorate=1 ring=2.c expected=3 total=3 need=2 nodes=1,2,3")
    L["l2"][i + 2:i + 3] = ["leader self=0 epoch=300 node=1 pid=101 state=known",
                            "demoted expired=0", "lease rc=0 deadline=0"]
    i = L["l1"].index("leader self=0 epoch=200 node=2 pid=202 state=known")
    L["l1"][i:i + 1] = ["@12100 leader self=1 epoch=300 node=1 pid=101 state=known",
                        "lease rc=1 deadline=17967000",
                        "timing token=1650 consensus=1980 detect=3630 nodes=3 renew=412 lease=4867 takeover=3711 margin=412"]
    i = L["l3"].index("view seq=3 ring=2.c quorate=1 members=1/101,2/202,3/303 joined=1/101:nodeup left=-")
    L["l3"].insert(i + 1, "@12110 leader self=0 epoch=300 node=1 pid=101 state=known")
    return L
write("lead-failback", failback(), "failback", args=STRICT)
write("lead-failback-moves", failback(), "leader-count",
      args="--leader-overlap --expect-moves 1")

# The last lease deadline node 1 logged ran out 160 ms before it was told
# it no longer leads.
L = lead()
L["l1"] = [l.replace("deadline=7800000", "deadline=6500000") for l in L["l1"]]
write("lead-lease-late", L, "leader-lease", args=STRICT)
# Told it leads, yet haq_group_lease() says it holds no lease.
L = lead()
L["l1"] = [l.replace("@2000 lease rc=1 deadline=7800000", "@2000 lease rc=0 deadline=0") for l in L["l1"]]
write("lead-no-lease", L, "leader-lease", args=STRICT)

# Resign: node 1 calls haq_group_resign() at 2999.5 ms (start=, where its
# leadership ends; the call returns at 3000.2 ms), node 2 is told it leads
# at 3004.5 ms: it passes; at 2999.4 ms (before the call began) it fails.
def resign(at):
    L = lead()
    for n in L:
        i = next(k for k, l in enumerate(L[n]) if l.startswith("@2000 "))
        L[n] = L[n][:i] + [l for l in L[n] if l.startswith("stopping") or
                           l.startswith("drained") or
                           l.startswith("counters") or l == "exit"]
    L["l1"][i:i] = ["@3000.2 resign rc=0 epoch=100 why=signal start=3999500",
                    "@3000.5 lease rc=0 deadline=0",
                    "@3004.7 leader self=0 epoch=200 node=2 pid=202 state=known"]
    L["l2"][i:i] = ["@%s leader self=1 epoch=200 node=2 pid=202 state=known" % at,
                    "lease rc=1 deadline=%d" % (1000000 + round(float(at) * 1000) + 4867000),
                    "timing token=1650 consensus=1980 detect=3630 nodes=3 renew=412 lease=4867 takeover=3711 margin=412"]
    L["l3"][i:i] = ["@3004.6 leader self=0 epoch=200 node=2 pid=202 state=known"]
    return L
write("lead-resign", resign("3004.5"), "OK",
      args=STRICT + " --expect-leaderships 2 --expect-moves 1")
write("lead-resign-early", resign("2999.4"), "leader-overlap", args=STRICT)
write("lead-resign-inside-call", resign("2999.8"), "OK", args=STRICT)

# SIGKILL of the leader's probe: its log ends in a half-written line, then
# the scenario's "killed" line at 3.05 s. Node 2 promoted at 3.08 s passes;
# at 3.03 s (after node 1's last logged line, before its death) it fails.
def killed(at):
    L = lead()
    for n in L:
        i = next(k for k, l in enumerate(L[n]) if l.startswith("@2000 "))
        L[n] = L[n][:i + 1]
    L["l1"] += ["@3001 deliver from=2/202 inc=l2 se", "@3050 killed signal=KILL"]
    for n, off in (("l2", 0), ("l3", 0.1)):
        L[n] += ["@3020 view seq=2 ring=1.4 quorate=1 members=2/202,3/303 joined=- left=1/101:procdown"]
    L["l2"] += ["@%s leader self=1 epoch=200 node=2 pid=202 state=known" % at,
                "lease rc=1 deadline=%d" % (1000000 + round(float(at) * 1000) + 4867000),
                "stopping signal=15 next_id=1", "drained ok self=0 queued=0", "exit"]
    L["l3"] += ["@3090 leader self=0 epoch=200 node=2 pid=202 state=known",
                "stopping signal=15 next_id=1", "drained ok self=0 queued=0", "exit"]
    return L
write("lead-killed", killed("3080"), "OK",
      args=STRICT + " --expect-leaderships 2 --expect-moves 1")
write("lead-killed-early", killed("3030"), "leader-overlap", args=STRICT)

# A ring overtaken before votequorum spoke (a cold start: 1.6 with nodes 1
# and 2, then 1.8 with all three, whose quorum state comes first): the view
# of 1.6 comes after the quorum state of 1.8 and says not quorate, as
# haq_view_quorate() documents. Claiming quorate without a verdict fails.
def overtaken(q):
    L = lead()
    for n in ("l1", "l2"):
        i = L[n].index("@2000 lease rc=1 deadline=7800000") if n == "l1" else \
            L[n].index("@2000 counters sent=0 delivered=0 retries=0 malformed=0 oversize=0 partial=0 lease_expired=0")
        L[n] = L[n][:i] + [
            "@2100 quorum quorate=1 ring=1.8 expected=3 total=3 need=2 nodes=1,2,3",
            "view seq=2 ring=1.6 quorate=%d members=1/101,2/202 joined=- left=3/303:nodedown" % q,
            "view seq=3 ring=1.8 quorate=1 members=1/101,2/202,3/303 joined=3/303:nodeup left=-",
            "stopping signal=15 next_id=1", "drained ok self=0 queued=0", "exit"]
    L["l3"] = L["l3"][:L["l3"].index("@2000 counters sent=0 delivered=0 retries=0 malformed=0 oversize=0 partial=0 lease_expired=0")] + [
        "@2100 quorum quorate=1 ring=1.8 expected=3 total=3 need=2 nodes=1,2,3",
        "view seq=2 ring=1.8 quorate=1 members=1/101,2/202,3/303 joined=- left=-",
        "stopping signal=15 next_id=1", "drained ok self=0 queued=0", "exit"]
    return L
write("view-overtaken", overtaken(0), "OK", args=STRICT)
write("view-overtaken-quorate", overtaken(1), "view", args=STRICT)

# Replicated state (haq-probe --state): S1 seeds the state and provides it
# to S2 at the cut of transfer e1, after two messages; both then apply the
# same three. "hash=@ count=@" are filled in by replaying each log as
# haq-probe does (a held line after DONE takes the provider's cut).
FNV_PRIME = 0x100000001b3
def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & ((1 << 64) - 1)
    return h
def le(v, n):
    return v.to_bytes(n, "little")
def fill_state(logs, order, cut_override=None):
    cuts = dict(cut_override or {})
    for n in order:
        model = None
        out = []
        for l in logs[n]:
            f = dict(w.split("=", 1) for w in l.split(" ") if "=" in w)
            if l.startswith("state seed"):
                model = (fnv(0xcbf29ce484222325, le(0x31535148, 4) +
                             le(int(f["inc"], 16), 8) + le(int(f["len"]), 8)), 0)
            elif l.startswith("state held transfer="):
                model = cuts[f["transfer"]]
            elif l.startswith("deliver ") and model is not None:
                node, pid = (int(x) for x in f["from"].split("/"))
                data = (le(model[0], 8) + le(0x31504348, 4) + le(node, 4) +
                        le(pid, 4) + bytes(4) + le(int(f["inc"], 16), 8) +
                        le(int(f["seq"]), 8) + le(int(f["len"]), 8))
                model = (fnv(0xcbf29ce484222325, data), model[1] + 1)
            elif l.startswith("state begin") and "role=provider" in l:
                cuts.setdefault(f["transfer"], model)
            if "hash=@" in l:
                l = l.replace("hash=@", "hash=%016x" % model[0])
            if "count=@" in l:
                l = l.replace("count=@", "count=%d" % model[1])
            out.append(l)
        logs[n] = out
    return logs
def state_logs():
    return {"s1": load("S1"), "s2": load("S2")}
write("state-good", fill_state(state_logs(), ("s1", "s2")), "OK",
      args="--leader-overlap")
# The receiver applies a message its state already covers: the cut came
# after a1#3 at the provider, yet a1#3 is delivered to the receiver after
# DONE. Each log is consistent with itself; the final states differ.
L = state_logs()
cut = "state begin transfer=e1 role=provider hash=@ count=@ bytes=104 held=1"
L["s1"].remove(cut)
L["s1"].insert(L["s1"].index("deliver from=1/101 inc=a1 seq=3 len=32") + 1, cut)
write("state-final-differs", fill_state(L, ("s1", "s2")), "state",
      args="--leader-overlap")
# A message delivered to the receiver between BEGIN and DONE, while it did
# not hold the state (and the probe's own assertion line).
L = state_logs()
d = "deliver from=1/101 inc=a1 seq=3 len=32"
L["s2"].remove(d)
L["s2"].insert(L["s2"].index("state done transfer=e1 role=receiver error=0 err=\"\" ms=2.0 bytes=104"),
               d)
write("state-unheld", fill_state(L, ("s1", "s2")), "state",
      args="--leader-overlap")
# The receiver holds, at DONE, a state other than the provider's at the
# cut (the state of one message less).
L = fill_state(state_logs(), ("s1",))
L = fill_state(L, ("s2",), {"e1": (0x1234, 1)})
write("state-cut-mismatch", L, "state", args="--leader-overlap")

# Locks (haq-probe --locks): the lead() run with lock churn. lock0 goes
# from node 1 to node 2 (asked while node 1 held it), lock1 is taken by
# node 3 meanwhile; node 1 holds lock1 when it is isolated, is told of
# its loss when it loses quorum (5.7 s), and node 2, which asked for lock1
# then, is granted it after the takeover delay (9.4 s). Tokens are the
# requester's clock or the last token + 1.
T = 1700000000000000
def lock_ev(name, token, deadline):
    return ("lock_granted name=%s token=%d deadline=%d held_rc=1 "
            "held_token=%d" % (name, token, deadline, token))
def put(lines, at, text):
    """Insert "@AT text" before the first "@" line later than AT."""
    for i, l in enumerate(lines):
        if l.startswith("@") and float(l[1:].split(" ", 1)[0]) > at:
            lines.insert(i, "@%s %s" % (at, text))
            return
    raise ValueError(at)
def locks(lost_at=5700, l2_lock0_at=1510, l2_lock0_token=T + 1200001,
          l3_lock1_token=T + 1200000):
    L = lead()
    for n in L:
        L[n].insert(1, "lock config locks=2 hold=50-500 pause=200 try=50")
    put(L["l1"], 1100, "lock_req name=lock0 try=0 rc=0")
    put(L["l1"], 1110, lock_ev("lock0", T + 1100000, 5977000))
    put(L["l1"], 1500, "lock_release name=lock0 token=%d" % (T + 1100000))
    put(L["l2"], 1050, "lock_req name=lock0 try=0 rc=0")
    put(L["l2"], l2_lock0_at, lock_ev("lock0", l2_lock0_token, 6377000))
    put(L["l2"], 1800, "lock_release name=lock0 token=%d" % l2_lock0_token)
    put(L["l3"], 1200, "lock_req name=lock1 try=1 rc=0")
    put(L["l3"], 1210, lock_ev("lock1", l3_lock1_token, 6077000))
    put(L["l3"], 1700, "lock_release name=lock1 token=%d" % l3_lock1_token)
    put(L["l1"], 2990, "lock_req name=lock1 try=0 rc=0")
    put(L["l1"], 3000, lock_ev("lock1", T + 2990000, 7867000))
    put(L["l1"], lost_at, "lock_lost name=lock1 status=-37 "
        "err=\"the partition lost quorum\" held=1")
    put(L["l2"], 5700, "lock_req name=lock1 try=0 rc=0")
    put(L["l2"], 9400, lock_ev("lock1", T + 5700000, 14267000))
    put(L["l2"], 9600, "lock_release name=lock1 token=%d" % (T + 5700000))
    put(L["l3"], 9500, "lock_req name=lock0 try=1 rc=0")
    put(L["l3"], 9510, "lock_busy name=lock0 status=-16")
    return L
LOCK = "--leader-overlap --lock-overlap"
write("lock-good", locks(), "OK", args=LOCK)
# Node 2 told it holds lock0 10 ms before node 1 logged its release.
write("lock-overlap", locks(l2_lock0_at=1490), "lock-overlap", args=LOCK)
write("lock-overlap-counted", locks(l2_lock0_at=1490), "OK",
      args="--leader-overlap")
# The isolated holder told of its loss only after the majority granted.
write("lock-lost-late", locks(lost_at=9450), "lock-overlap", args=LOCK)
# lock0's second holding with a token below the first's.
write("lock-token-backwards", locks(l2_lock0_token=T + 1000000),
      "lock-token", args=LOCK)
# Node 3 asks for lock1 after node 1 was told it holds lock0, and gets a
# smaller token than node 1's (each lock's own tokens still increase).
write("lock-token-causal", locks(l3_lock1_token=T + 1000000), "lock-token",
      args=LOCK)
# Node 3's probe is SIGKILLed while it holds lock0 (its last line
# half-written, the scenario's "killed" line at 12.3 s); node 2 granted
# lock0 at 12.6 s passes, at 12.25 s (after node 3's last whole line,
# before its death) fails.
def lock_killed(at):
    L = locks()
    i = L["l3"].index("@12000 quorum quorate=1 ring=2.c expected=3 total=3 need=2 nodes=1,2,3")
    L["l3"] = L["l3"][:i] + [
        "@12100 lock_req name=lock0 try=0 rc=0",
        "@12110 " + lock_ev("lock0", T + 12100000, 16977000),
        "@12200 deliver from=2/202 inc=l2 se",
        "@12300 killed signal=KILL"]
    put(L["l2"], 12050, "lock_req name=lock0 try=0 rc=0")
    put(L["l2"], at, lock_ev("lock0", T + 12100001, 17000000))
    put(L["l2"], 12900, "lock_release name=lock0 token=%d" % (T + 12100001))
    return L
write("lock-killed", lock_killed(12600), "OK", args=LOCK)
write("lock-killed-early", lock_killed(12250), "lock-overlap", args=LOCK)
# A flood run (fault-bundle-flood): bundles at every probe, all quieted
# in the final view, where all delivered the same sequence.
def flood():
    L = base()
    for n, b in (("a", 3), ("b", 2), ("c", 1)):
        L[n] = [l + " bundled=%d" % b if l.startswith("counters ") else l
                for l in L[n]]
        # Quieted after their last send; the final view's messages come
        # after the quiet lines, before the probes stop.
        for d in ("deliver from=3/303 inc=c3 seq=4",
                  "deliver from=1/101 inc=a1 seq=4"):
            L[n].remove(d)
        nid = {"a": 5, "b": 4, "c": 5}[n]
        j = L[n].index("stopping signal=15 next_id=%d" % nid)
        L[n][j:j] = ["quiet next_id=%d" % nid,
                     "deliver from=3/303 inc=c3 seq=4",
                     "deliver from=1/101 inc=a1 seq=4"]
    return L
write("flood-good", flood(), "OK", args="--expect-bundled --same-final")
# One probe sent nothing in a bundle (the load never made any form).
L = flood()
L["c"] = [l.replace(" bundled=1", " bundled=0") for l in L["c"]]
write("flood-unbundled", L, "bundled", args="--expect-bundled --same-final")
# The same sets in the final view, in another order at one probe: order
# already sees it; here the final sequences differ as well.
L = flood()
swap(L["b"], "deliver from=3/303 inc=c3 seq=4", "deliver from=1/101 inc=a1 seq=4")
write("flood-final-order", L, "final", args="--expect-bundled --same-final")
# One probe misses the last message of the final view: no next view, so
# vsync has nothing to compare; the final sequences differ.
L = flood()
L["c"].remove("deliver from=1/101 inc=a1 seq=4")
write("flood-final-missing", L, "final", args="--expect-bundled --same-final")
