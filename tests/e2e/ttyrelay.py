"""ttyrelay.py TTY: copy stdin to TTY and TTY to stdout, for libgammu's `connection proxyat`
(device = the command) in tests: the same emulated modem, reached without a descriptor of its
own tty in linlid."""
import os
import select
import sys
import tty


def main():
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    i, o = sys.stdin.fileno(), sys.stdout.fileno()
    while True:
        r, _, _ = select.select([fd, i], [], [])
        for src, dst in ((fd, o), (i, fd)):
            if src in r:
                d = os.read(src, 4096)
                if not d:
                    return
                os.write(dst, d)


main()
