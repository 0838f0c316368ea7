#!/usr/bin/env python3
"""report.py: turns the figures of one tests/bench/run into the summary table of docs/BENCHMARKS.md
("## Whole system (issue 7)", between <!-- system:begin --> and <!-- system:end -->) and the
PNG charts in docs/img/ (gnuplot). Standard library only, plus the gnuplot command.

  report.py OUT_DIR BENCHMARKS_MD IMG_DIR COMMAND

OUT_DIR holds what the runner left there: realistic.json and soak.csv
(workload.py run), startup.json (workload.py startup), run-<bench>.txt (the printed report of
each earlier bench: https_rps, property_query, event_fanout, driver_reports, fn_flow) and
deploy.json (deploy.sh). A bench that did not run (or failed) is left out of the table, which
says so. COMMAND is the runner's command line, printed with the figures. Writes
OUT_DIR/summary.json with every figure the table shows.
"""
import json
import os
import re
import subprocess
import sys
import time

BEGIN, END = "<!-- system:begin -->", "<!-- system:end -->"
MB = 1e6 / 1024  # KiB in one MB (the aims and aws-greengrass-lite's figures are in MB)
GGL = {"pss_mb": 14.8, "rss_mb": 51, "startup_s": 1.3}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def ms(text):
    """'502.00us' / '10.68ms' / '1.2s' -> milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk_table(text, names):
    """The 'server requests/s p50 p99 ...' rows of https_rps.sh / property_query.sh."""
    out = {}
    for n in names:
        m = re.search(r"^%s +([\d.]+) +(\S+) +(\S+) " % re.escape(n), text, re.M)
        if m:
            out[n] = {"rps": float(m.group(1)), "p50_ms": ms(m.group(2)),
                      "p99_ms": ms(m.group(3))}
    return out


def load_line(text):
    m = re.search(r"load average before/after[^:]*: (.*)$", text, re.M)
    return m.group(1).strip() if m else "?"


def parse_prior(out_dir):
    p = {}
    t = load_text(os.path.join(out_dir, "run-https_rps.txt"))
    if t:
        p["https_rps"] = {"servers": wrk_table(t, ["verge", "nginx-lua", "nginx-lua-chacha",
                                                   "nginx-return"]), "load": load_line(t)}
        m = re.search(r"nginx \(master \+ worker\) after load: RSS ([\d.]+) MiB, PSS ([\d.]+)", t)
        if m:
            p["https_rps"]["nginx_rss_mib"] = float(m.group(1))
            p["https_rps"]["nginx_pss_mib"] = float(m.group(2))
        m = re.search(r"verge memory after load: +RSS ([\d.]+) MiB, PSS ([\d.]+)", t)
        if m:
            p["https_rps"]["verge_rss_mib"] = float(m.group(1))
            p["https_rps"]["verge_pss_mib"] = float(m.group(2))
    t = load_text(os.path.join(out_dir, "run-property_query.txt"))
    if t:
        p["property_query"] = {"servers": wrk_table(t, ["verge-cache", "verge-live",
                                                        "nginx-lua", "nginx-lua-chacha"]),
                               "load": load_line(t)}
    t = load_text(os.path.join(out_dir, "run-event_fanout.txt"))
    if t:
        ev = {}
        for n in ("verge-http", "verge-https", "mosquitto"):
            m = re.search(r"^%s +([\d.]+) +([\d.]+) +([\d.]+) " % n, t, re.M)
            if m:
                ev[n] = {"p50_ms": float(m.group(1)), "p99_ms": float(m.group(2)),
                         "max_ms": float(m.group(3))}
        m = re.search(r"^(\d+) subscribers, (\d+) events/s", t, re.M)
        p["event_fanout"] = {"servers": ev, "load": load_line(t),
                             "subscribers": int(m.group(1)) if m else None,
                             "rate": int(m.group(2)) if m else None}
    t = load_text(os.path.join(out_dir, "run-driver_reports.txt"))
    if t:
        def first(label):
            m = re.search(r"^%s +([\d.]+)" % re.escape(label), t, re.M)
            return float(m.group(1)) if m else None
        p["driver_reports"] = {"sent_per_s": first("driver: reports/s sent"),
                               "committed_per_s": first("verge: values/s committed"),
                               "sqlite_per_s": first("SQLite alone: rows/s, 200ms"),
                               "load": load_line(t)}
    t = load_text(os.path.join(out_dir, "run-fn_flow.txt"))
    if t:
        f = {"load": load_line(t)}
        m = re.search(r"^  median +(\d+) +(\d+) +([\d.]+)", t, re.M)
        if m:
            f.update(verge_per_s=int(m.group(1)), node_red_per_s=int(m.group(2)))
        m = re.search(r"CPU us per message \(median\): verge ([\d.]+), its driver ([\d.]+); "
                      r"Node-RED ([\d.]+)", t)
        if m:
            f.update(verge_cpu_us=float(m.group(1)), driver_cpu_us=float(m.group(2)),
                     node_red_cpu_us=float(m.group(3)))
        m = re.search(r"RSS MiB idle / after the last round / peak: verge ([\d.]+) / ([\d.]+) / "
                      r"([\d.]+); Node-RED ([\d.]+) / ([\d.]+) / ([\d.]+)", t)
        if m:
            f.update(verge_rss_idle_mib=float(m.group(1)), verge_rss_peak_mib=float(m.group(3)),
                     node_red_rss_idle_mib=float(m.group(4)),
                     node_red_rss_peak_mib=float(m.group(6)))
        m = re.search(r"^\(a, c\) messages/s through a rule function: (\d+) messages a round, "
                      r"(\d+) rounds", t, re.M)
        if m:
            f.update(messages=int(m.group(1)), rounds=int(m.group(2)))
        p["fn_flow"] = f
    d = load_json(os.path.join(out_dir, "deploy.json"))
    if d and "verge_window0_deploy_serving" in d:
        p["deploy"] = d
    return p


def mib(kib):
    return "%.1f" % (kib / 1024) if kib is not None else "-"


def yes(ok):
    return "yes" if ok else "**no**"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_ratio(r):
    return "%.2f×" % r if r is not None else "-"


def table(r, s, p):
    """The summary rows: (what, verge's figure, aim or peer, met?)."""
    rows = []
    if r:
        i, lo = r["idle"], r["load"]
        rows.append(("Idle verge, the bundle deployed: RSS / PSS (median; p95)",
                     "%s / %s MiB (%s / %s)" % (mib(i["verge_rss"]["median"]),
                                                mib(i["verge_pss"]["median"]),
                                                mib(i["verge_rss"]["p95"]),
                                                mib(i["verge_pss"]["p95"])),
                     "< 8 MB RSS, < 4 MB PSS",
                     yes(i["verge_rss"]["p95"] < 8 * MB and i["verge_pss"]["p95"] < 4 * MB)))
        rows.append(("Idle verge: PSS of its own anonymous pages / of the files it maps "
                     "(median)", "%s / %s MiB" % (mib(i["verge_pss_anon"]["median"]),
                                                  mib(i["verge_pss_file"]["median"])),
                     "-", "-"))
        rows.append(("Idle, verge + 10 drivers: RSS / PSS (median)",
                     "%s / %s MiB (one driver %s / %s)" % (
                         mib(i["total_rss"]["median"]), mib(i["total_pss"]["median"]),
                         mib(i["driver_rss"]["median"]), mib(i["driver_pss"]["median"])),
                     "-", "-"))
        rows.append(("Under the realistic load, verge alone: RSS / PSS (median; p95)",
                     "%s / %s MiB (%s / %s)" % (mib(lo["verge_rss"]["median"]),
                                                mib(lo["verge_pss"]["median"]),
                                                mib(lo["verge_rss"]["p95"]),
                                                mib(lo["verge_pss"]["p95"])), "-", "-"))
        rows.append(("Under the realistic load, anonymous PSS: verge / verge + 10 drivers "
                     "(median)", "%s / %s MiB" % (mib(lo["verge_pss_anon"]["median"]),
                                                  mib(lo["total_pss_anon"]["median"])),
                     "-", "-"))
        rows.append(("Under the realistic load, verge + 10 drivers: RSS / PSS (median; p95)",
                     "%s / %s MiB (%s / %s); drivers summed %s / %s" % (
                         mib(lo["total_rss"]["median"]), mib(lo["total_pss"]["median"]),
                         mib(lo["total_rss"]["p95"]), mib(lo["total_pss"]["p95"]),
                         mib(lo["drivers_rss"]["median"]), mib(lo["drivers_pss"]["median"])),
                     "< 16 MB RSS, < 10 MB PSS; aws-greengrass-lite ~51 MB RSS, 14.8 MB PSS "
                     "(fewer features)",
                     "RSS %s, PSS %s; %.2f× / %.2f× greengrass-lite" % (
                         yes(lo["total_rss"]["p95"] < 16 * MB),
                         yes(lo["total_pss"]["p95"] < 10 * MB),
                         lo["total_rss"]["median"] / (GGL["rss_mb"] * MB),
                         lo["total_pss"]["median"] / (GGL["pss_mb"] * MB))))
        rows.append(("CPU time per 1,000 routed messages, verge / the 10 drivers",
                     "%.1f / %.1f ms (verge %.1f%%, drivers %.1f%% of a CPU at %.0f msg/s)" % (
                         r["verge_cpu_ms_per_1k"], r["drivers_cpu_ms_per_1k"],
                         r["verge_cpu_pct"], r["drivers_cpu_pct"], r["routed_per_s"]),
                     "-", "-"))
        pl, el = r["poll_latency_ms"], r["event_latency_ms"]
        rows.append(("Load served in the window: routed msg/s; rule invocations not ok; "
                     "property queries/s (failed); events",
                     "%.0f; %d; %.1f (%d); %d" % (r["routed_per_s"],
                                                  sum(r["rule_not_ok"].values()),
                                                  r["poll_per_s"], r["poll_failed"],
                                                  r["events"]),
                     "1,000; 0; 50 (0)", yes(abs(r["routed_per_s"] - 1000) < 50 and
                                             not any(r["rule_not_ok"].values()) and
                                             r["poll_failed"] == 0 and r["events"] > 0)))
        rows.append(("Property query latency under the load, p50 / p95 / p99",
                     "%.2f / %.2f / %.2f ms" % (pl["p50"], pl["p95"], pl["p99"]), "-", "-"))
        rows.append(("Event latency under the load (driver's ms clock → subscriber), p50 / p99",
                     "%.1f / %.1f ms" % (el["p50"], el["p99"]) if el["p50"] is not None
                     else "-", "-", "-"))
        if "soak" in r:
            k = r["soak"]
            rows.append(("Soak: verge RSS drift, last vs first sample after the warm-up; "
                         "open fds", "%+.2f%% (%+d KiB over %.0f s); fds %d → %d (min %d, "
                         "max %d)" % (k["drift_pct"], k["drift_kib"], k["seconds"],
                                      k["fds_first"], k["fds_last"], k["fds_min"],
                                      k["fds_max"]),
                         "no drift beyond 2%", yes(abs(k["drift_pct"]) <= 2)))
    if s:
        f, w = s["fresh"], s["warm"]
        rows.append(("Start-up: exec → first successful HTTPS login, median of %d (fresh / "
                     "warm data dir)" % s["runs"],
                     "%.0f / %.0f ms (of which the login request %.0f / %.0f ms)" % (
                         f["login_ms_median"], w["login_ms_median"],
                         f["login_request_ms_median"], w["login_request_ms_median"]),
                     "< 100 ms; aws-greengrass-lite 1.3 s to all services",
                     "%s; %.2f× / %.2f× greengrass-lite" % (
                         yes(max(f["login_ms_median"], w["login_ms_median"]) < 100),
                         f["login_ms_median"] / 1300, w["login_ms_median"] / 1300)))
        rows.append(("Start-up: exec → all 10 drivers up (fresh / warm); port open at",
                     "%.0f / %.0f ms; %.0f / %.0f ms" % (
                         f["drivers_up_ms_median"], w["drivers_up_ms_median"],
                         f["listening_ms_median"], w["listening_ms_median"]), "-", "-"))
    ff = p.get("fn_flow")
    if ff and "verge_per_s" in ff:
        rr = ratio(ff["verge_per_s"], ff["node_red_per_s"])
        mr = ratio(ff.get("verge_rss_peak_mib"), ff.get("node_red_rss_peak_mib"))
        rows.append(("Peak: messages/s through a Lua rule (fn_flow.sh) vs Node-RED, same flow",
                     "%d vs %d/s: %s; RSS peak %.1f vs %.1f MiB: %s" % (
                         ff["verge_per_s"], ff["node_red_per_s"], fmt_ratio(rr),
                         ff.get("verge_rss_peak_mib", 0), ff.get("node_red_rss_peak_mib", 0),
                         fmt_ratio(mr)),
                     "≥ 10× Node-RED at < 0.1× its memory",
                     "throughput %s, memory %s" % (yes(rr is not None and rr >= 10),
                                                   yes(mr is not None and mr < 0.1))))
    h = p.get("https_rps", {}).get("servers", {})
    if "verge" in h and "nginx-lua" in h:
        rr = ratio(h["verge"]["rps"], h["nginx-lua"]["rps"])
        rows.append(("Peak: HTTPS requests/s, POST /system/info (https_rps.sh) vs nginx + Lua",
                     "%.0f vs %.0f/s: %s (vs ChaCha20 nginx %s)" % (
                         h["verge"]["rps"], h["nginx-lua"]["rps"], fmt_ratio(rr),
                         fmt_ratio(ratio(h["verge"]["rps"],
                                         h.get("nginx-lua-chacha", {}).get("rps")))),
                     "≥ nginx + Lua", yes(rr is not None and rr >= 1)))
    q = p.get("property_query", {}).get("servers", {})
    if "verge-cache" in q and "nginx-lua" in q:
        rr = ratio(q["verge-cache"]["rps"], q["nginx-lua"]["rps"])
        rows.append(("Peak: property queries/s (property_query.sh), cache / live vs nginx + Lua",
                     "%.0f / %.0f vs %.0f/s: %s / %s (cache vs ChaCha20 nginx %s)" % (
                         q["verge-cache"]["rps"], q["verge-live"]["rps"],
                         q["nginx-lua"]["rps"], fmt_ratio(rr),
                         fmt_ratio(ratio(q["verge-live"]["rps"], q["nginx-lua"]["rps"])),
                         fmt_ratio(ratio(q["verge-cache"]["rps"],
                                         q.get("nginx-lua-chacha", {}).get("rps")))),
                     "≥ nginx + Lua", yes(rr is not None and rr >= 1)))
    e = p.get("event_fanout", {})
    ev = e.get("servers", {})
    if "verge-https" in ev and "mosquitto" in ev:
        rows.append(("Peak: event fan-out to %s subscribers at %s/s (event_fanout.sh), p99 "
                     "https / http vs mosquitto" % (e.get("subscribers"), e.get("rate")),
                     "%.2f / %.2f vs %.2f ms: %s / %s" % (
                         ev["verge-https"]["p99_ms"], ev["verge-http"]["p99_ms"],
                         ev["mosquitto"]["p99_ms"],
                         fmt_ratio(ratio(ev["verge-https"]["p99_ms"], ev["mosquitto"]["p99_ms"])),
                         fmt_ratio(ratio(ev["verge-http"]["p99_ms"], ev["mosquitto"]["p99_ms"]))),
                     "p99 < 5 ms; mosquitto the floor",
                     yes(max(ev["verge-https"]["p99_ms"], ev["verge-http"]["p99_ms"]) < 5)))
    d = p.get("driver_reports")
    if d and d.get("sent_per_s"):
        rows.append(("Peak: driver reports/s, one driver, 1 value a report (driver_reports.sh) "
                     "vs SQLite alone", "%.0f/s sent, %.0f/s committed; SQLite alone %.0f "
                     "rows/s: %s" % (d["sent_per_s"], d["committed_per_s"], d["sqlite_per_s"],
                                     fmt_ratio(ratio(d["committed_per_s"], d["sqlite_per_s"]))),
                     "≥ 100,000/s", yes(d["sent_per_s"] >= 100000)))
    dp = p.get("deploy")
    if dp:
        v = dp["verge_window0_deploy_serving"]["median_ms"]
        n = dp["node_red_deploy_serving"]["median_ms"]
        rows.append(("Deploy of a ~1 MB bundle → serving (deploy.sh) vs Node-RED's flow deploy",
                     "%.0f vs %.0f ms: Node-RED takes %s" % (v, n, fmt_ratio(ratio(n, v))),
                     "< 1 s", yes(v < 1000)))
    return rows


# ---- charts --------------------------------------------------------------------------------

def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


HEAD = """set terminal pngcairo size 900,480 font "sans,10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -20 scale 0
"""


def charts(r, s, p, img_dir, out_dir):
    made = []
    os.makedirs(img_dir, exist_ok=True)
    # footprint vs the peers, MiB
    rows = []
    if r:
        rows.append(("verge idle", r["idle"]["verge_rss"]["median"] / 1024,
                     r["idle"]["verge_pss"]["median"] / 1024))
        rows.append(("verge loaded", r["load"]["verge_rss"]["median"] / 1024,
                     r["load"]["verge_pss"]["median"] / 1024))
        rows.append(("verge+10 drivers loaded", r["load"]["total_rss"]["median"] / 1024,
                     r["load"]["total_pss"]["median"] / 1024))
    rows.append(("greengrass-lite (its report)", GGL["rss_mb"] * MB / 1024,
                 GGL["pss_mb"] * MB / 1024))
    h = p.get("https_rps", {})
    if "nginx_rss_mib" in h:
        rows.append(("nginx+Lua after HTTPS runs", h["nginx_rss_mib"], h["nginx_pss_mib"]))
    ff = p.get("fn_flow", {})
    if "node_red_rss_idle_mib" in ff:
        rows.append(("Node-RED idle (fn flow)", ff["node_red_rss_idle_mib"], None))
        rows.append(("Node-RED peak (fn flow)", ff["node_red_rss_peak_mib"], None))
    dat = os.path.join(out_dir, "chart-footprint.dat")
    with open(dat, "w") as f:
        for name, a, b in rows:
            f.write('"%s" %.2f %s\n' % (name, a, "%.2f" % b if b is not None else "NaN"))
    png = os.path.join(img_dir, "system-footprint.png")
    gnuplot(HEAD + """set output "%s"
set title "Footprint (MiB; lower is better)"
set ylabel "MiB"
set yrange [0:*]
plot "%s" using 2:xtic(1) title "RSS", "" using 3 title "PSS"
""" % (png, dat))
    made.append(png)

    # throughput vs the peers: verge / peer (above 1: verge ahead)
    rows = []
    if "verge_per_s" in ff:
        rows.append(("rule function vs Node-RED", ff["verge_per_s"] / ff["node_red_per_s"]))
    hs = h.get("servers", {})
    if "verge" in hs and "nginx-lua" in hs:
        rows.append(("HTTPS vs nginx+Lua", hs["verge"]["rps"] / hs["nginx-lua"]["rps"]))
    q = p.get("property_query", {}).get("servers", {})
    if "verge-cache" in q and "nginx-lua" in q:
        rows.append(("property query (cache) vs nginx+Lua",
                     q["verge-cache"]["rps"] / q["nginx-lua"]["rps"]))
        rows.append(("property query (live) vs nginx+Lua",
                     q["verge-live"]["rps"] / q["nginx-lua"]["rps"]))
    d = p.get("driver_reports")
    if d and d.get("committed_per_s") and d.get("sqlite_per_s"):
        rows.append(("driver reports vs SQLite alone", d["committed_per_s"] / d["sqlite_per_s"]))
    ev = p.get("event_fanout", {}).get("servers", {})
    if "verge-https" in ev and "mosquitto" in ev:
        rows.append(("fan-out p99: mosquitto / verge-https",
                     ev["mosquitto"]["p99_ms"] / ev["verge-https"]["p99_ms"]))
    if rows:
        dat = os.path.join(out_dir, "chart-throughput.dat")
        with open(dat, "w") as f:
            for name, v in rows:
                f.write('"%s" %.3f\n' % (name, v))
        png = os.path.join(img_dir, "system-throughput.png")
        gnuplot(HEAD + """set output "%s"
set title "verge against the peers, same run (ratio; above 1: verge ahead)"
set yrange [0:*]
set key off
plot "%s" using 2:xtic(1) title "verge / peer" lc rgb "#4477aa", 1 with lines dt 2 lc rgb "black" notitle
""" % (png, dat))
        made.append(png)

    # latency percentiles, ms (log scale)
    rows = []
    if r:
        pl, el = r["poll_latency_ms"], r["event_latency_ms"]
        rows.append(("realistic: property query", pl["p50"], pl["p95"], pl["p99"]))
        if el["p50"] is not None:
            rows.append(("realistic: event (ms clock)", max(el["p50"], 0.05),
                         max(el["p95"], 0.05), max(el["p99"], 0.05)))
    for n in ("verge-cache", "nginx-lua"):
        if n in q:
            rows.append(("peak %s query" % n, q[n]["p50_ms"], None, q[n]["p99_ms"]))
    for n in ("verge-https", "mosquitto"):
        if n in ev:
            rows.append(("fan-out %s" % n, ev[n]["p50_ms"], None, ev[n]["p99_ms"]))
    if rows:
        dat = os.path.join(out_dir, "chart-latency.dat")
        with open(dat, "w") as f:
            for row in rows:
                f.write('"%s" %s\n' % (row[0], " ".join("%.3f" % v if v is not None else "NaN"
                                                         for v in row[1:])))
        png = os.path.join(img_dir, "system-latency.png")
        cols = [(i + 2, t) for i, t in enumerate(("p50", "p95", "p99"))
                if any(row[i + 1] is not None for row in rows)]  # gnuplot refuses an empty one
        plot = ", ".join('%s using %d%s title "%s"' % ('"%s"' % dat if j == 0 else '""', c,
                                                      ":xtic(1)" if j == 0 else "", t)
                         for j, (c, t) in enumerate(cols))
        gnuplot(HEAD + """set output "%s"
set title "Latency percentiles (ms, log scale; lower is better)"
set logscale y
set ylabel "ms"
plot %s
""" % (png, plot))
        made.append(png)

    csv = os.path.join(out_dir, "soak.csv")
    if r and "soak" in r and os.path.exists(csv):
        png = os.path.join(img_dir, "system-soak.png")
        gnuplot("""set terminal pngcairo size 900,360 font "sans,10"
set output "%s"
set title "Soak under the realistic load: verge's RSS and open file descriptors"
set datafile separator ","
set key top left
set grid
set xlabel "s after the warm-up"
set ylabel "RSS, MiB"
set y2label "open fds"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "%s" every ::1 using 1:($2/1024) with linespoints title "RSS (MiB)", "" every ::1 using 1:3 axes x1y2 with steps title "fds"
""" % (png, csv))
        made.append(png)
    return made


def section(r, s, p, rows, pngs, command, md):
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [BEGIN, "",
             "Generated by `%s` at %s (`tests/bench/realistic/report.py`; do not edit between "
             "the markers)." % (command, date), ""]
    if r:
        c = r["config"]
        lines.append("Realistic load: measured %s, load average %s before / %s after on %d "
                     "CPUs; idle %d s, warm-up %d s, measured %d s, soak %d s. Command of the "
                     "figures: `python3 tests/bench/realistic/workload.py run VERGE REPORTER "
                     "OUT.json SOAK.csv --idle-s %d --warmup-s %d --load-s %d --soak-s %d`." % (
                         r["date"], r["load_avg_before"], r["load_avg_after"], r["cpus"],
                         c["idle_s"], c["warmup_s"], c["load_s"], c["soak_s"], c["idle_s"],
                         c["warmup_s"], c["load_s"], c["soak_s"]))
    else:
        lines.append("Realistic load: not measured in this run.")
    if s:
        lines.append("Start-up: measured %s, load average %s / %s; `workload.py startup VERGE "
                     "REPORTER OUT.json --runs %d`." % (s["date"], s["load_avg_before"],
                                                       s["load_avg_after"], s["runs"]))
    else:
        lines.append("Start-up: not measured in this run.")
    loads = []
    for name in ("fn_flow", "https_rps", "property_query", "event_fanout", "driver_reports"):
        if name in p:
            loads.append("%s %s" % (name, p[name].get("load", "?")))
    missing = [n for n in ("fn_flow", "https_rps", "property_query", "event_fanout",
                           "driver_reports", "deploy") if n not in p]
    if loads:
        lines.append("Earlier benches re-run by the runner (load average before / after "
                     "each): %s." % "; ".join(loads))
    if missing:
        lines.append("Not in this run: %s." % ", ".join(missing))
    if "fn_flow" in p and "messages" in p["fn_flow"]:
        lines.append("fn_flow ran %d messages a round, %d counted round(s)." % (
            p["fn_flow"]["messages"], p["fn_flow"]["rounds"]))
    lines += ["", "| figure | verge | aim / peer | met? |", "| --- | --- | --- | --- |"]
    for row in rows:
        lines.append("| %s |" % " | ".join(x.replace("|", "/") for x in row))
    lines.append("")
    for png in pngs:
        rel = os.path.relpath(png, os.path.dirname(os.path.abspath(md)))
        lines.append("![%s](%s)" % (os.path.splitext(os.path.basename(png))[0], rel))
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def update_md(path, text):
    with open(path) as f:
        md = f.read()
    if BEGIN in md and END in md:
        a = md.index(BEGIN)
        b = md.index(END) + len(END)
        md = md[:a] + text + md[b:]
    else:
        raise SystemExit("report: %s has no %s ... %s markers (the section "
                         "\"## Whole system (issue 7)\" holds them)" % (path, BEGIN, END))
    with open(path, "w") as f:
        f.write(md)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    out_dir, md, img_dir, command = sys.argv[1:]
    r = load_json(os.path.join(out_dir, "realistic.json"))
    s = load_json(os.path.join(out_dir, "startup.json"))
    p = parse_prior(out_dir)
    rows = table(r, s, p)
    pngs = charts(r, s, p, img_dir, out_dir)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump({"realistic": r, "startup": s, "prior": p,
                   "table": [dict(zip(("figure", "verge", "aim", "met"), x)) for x in rows]},
                  f, indent=1)
    update_md(md, section(r, s, p, rows, pngs, command, md))
    for row in rows:
        print("  %s: %s [%s] %s" % row)
    print("report: %d rows into %s, charts %s" % (len(rows), md, " ".join(pngs)))


if __name__ == "__main__":
    main()
