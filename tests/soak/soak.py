"""make soak: the kill -9 loop with many kills (SOAK_KILLS, default 30), then the same mixed load
for SOAK_MIN minutes (default 30) without kills, with a 跑腿 every 20 s, a burst of CMS 500 every
2 min and a 6995 group call every minute on a second linlid behind Kamailio (killloop.Steady), then the group call's kill loop (SOAK_CALL_KILLS,
default 10: linlid killed while a 6995 call rings, the call closed at each restart), on the normal build (not the sanitizer one, whose
quarantine grows memory by design). Checks what tests/soak/killloop.py checks, and that linlid's
file descriptors and threads end where they started and its memory grows by less than
SOAK_RSS_GROWTH (default 25%) over the steady phase. Writes build/soak/RESULTS.txt and the
"Soak" section of bench/RESULTS.md."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import killloop  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import results_section  # noqa: E402
import linli  # noqa: E402

ROOT = linli.ROOT


def write_results(fig, checks_failed):
    os.makedirs(os.path.join(ROOT, "build", "soak"), exist_ok=True)
    lines = ["make soak: %s, %d kills, then %d min of steady load (seed %d)" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), fig["kills"], fig.get("steady_s", 0) // 60, fig["seed"]),
        "checks failed: %d" % checks_failed]
    lines += ["%-28s %s" % (k, v) for k, v in sorted(fig.items()) if k not in ("kills", "seed")]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(ROOT, "build", "soak", "RESULTS.txt"), "w") as f:
        f.write(text)
    # the Soak section of bench/RESULTS.md, replaced in place (make bench keeps it)
    results_section.set_section(
        os.path.join(ROOT, "bench", "RESULTS.md"), "Soak (the last `make soak` in this tree)",
        "The kill -9 loop and a steady mixed load (tests/soak/soak.py), from build/soak/RESULTS.txt: `lost_*`, "
        "`dup_in` must be 0, `dup_out` at most `dup_counted` (the crash window); `steady_*` are linlid's resident "
        "memory, descriptors, threads and the database's size at the start and end of the steady phase, and "
        "the errands, CMS 500 bursts and group calls run during it; `call_*` the group call's kill loop.\n\n```\n"
        + text + "```\n")


def main(t):
    kills = int(os.environ.get("SOAK_KILLS", "30"))
    steady = int(float(os.environ.get("SOAK_MIN", "30")) * 60)
    growth = float(os.environ.get("SOAK_RSS_GROWTH", "0.25"))
    fig = killloop.run(t, kills=kills, steady_s=steady, settle=900)
    fig.update(killloop.run_group_call(t, kills=int(os.environ.get("SOAK_CALL_KILLS", "10")), seed=fig["seed"]))
    if steady:
        t.check(fig["steady_fds_end"] <= fig["steady_fds_start"] + 2,
                "file descriptors do not grow (%d -> %d)" % (fig["steady_fds_start"], fig["steady_fds_end"]))
        t.check(fig["steady_threads_end"] == fig["steady_threads_start"],
                "threads do not grow (%d -> %d)" % (fig["steady_threads_start"], fig["steady_threads_end"]))
        t.check(fig["steady_rss_kib_end"] <= fig["steady_rss_kib_start"] * (1 + growth),
                "memory grows by less than %d%% (%d -> %d KiB)" % (growth * 100, fig["steady_rss_kib_start"],
                                                                fig["steady_rss_kib_end"]))
    write_results(fig, t.failures)


linli.run(main)
