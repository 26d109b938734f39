#!/usr/bin/env python3
"""One section of bench/RESULTS.md replaced in place, the rest kept: the Soak section written by
`make soak` (tests/soak/soak.py), the Fuzzing section by `make fuzz` (tests/fuzz/run.sh), and kept
by `make bench` (bench/run.sh), which writes the file anew.

    python3 bench/results_section.py set FILE TITLE < BODY   replace or add "## TITLE..." with BODY
    python3 bench/results_section.py get FILE PREFIX         print the section whose title starts so
"""
import sys


def split(text, prefix):
    """(before, section, after) of the section whose "## " title starts with prefix."""
    start = text.find("\n## " + prefix)
    if start < 0:
        return text, "", ""
    nxt = text.find("\n## ", start + 1)
    end = nxt if nxt >= 0 else len(text)
    return text[:start], text[start:end], text[end:]


def set_section(path, title, body):
    try:
        old = open(path).read()
    except FileNotFoundError:
        old = "# linli benchmark results\n"
    prefix = title.split(" (")[0]
    head, _, tail = split(old, prefix)
    section = "\n## " + title + "\n\n" + body.strip("\n") + "\n"
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n" + section + tail)


def get_section(path, prefix):
    try:
        return split(open(path).read(), prefix)[1]
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "set":
        set_section(sys.argv[2], sys.argv[3], sys.stdin.read())
    elif len(sys.argv) == 4 and sys.argv[1] == "get":
        sys.stdout.write(get_section(sys.argv[2], sys.argv[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
