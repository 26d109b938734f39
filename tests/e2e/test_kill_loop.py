"""A bounded slice of the kill -9 loop (tests/soak/killloop.py) in make test: four kills of
linlid at random moments under mixed load; nothing lost, nothing stored or requested twice, the
SOS alarm escalates across the kills; then two kills while a 6995 group call rings, each closed
at the restart, and a new group call after them. make soak runs both with many more (SOAK_KILLS,
SOAK_CALL_KILLS)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "soak"))
import killloop  # noqa: E402
import linli  # noqa: E402


def main(t):
    killloop.run(t, kills=int(os.environ.get("KILL_K", "4")))
    killloop.run_group_call(t, kills=int(os.environ.get("KILL_CALL_K", "2")))


linli.run(main)
