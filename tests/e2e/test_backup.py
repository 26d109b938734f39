"""linlictl backup and restore (issue 14): a backup taken while linlid receives and sends is one
consistent, checked copy (0600); a restore is refused while linlid owns the database, refused for a
file that is not a linli database or is newer than this build, keeps the database it replaces, and
brings the data back; a second linlid on the same database is refused.

Real linlid on libgammu and modemsim, real SQLite files."""
import os
import shutil
import sqlite3
import stat
import subprocess

import linli


def ctl(gw, *args):
    return subprocess.run([os.path.join(linli.BUILD, "linlictl"), "-d", gw.db] + list(args), capture_output=True,
                          text=True, timeout=120)


def count(path, q):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
    try:
        return c.execute(q).fetchone()[0]
    finally:
        c.close()


def main(t):
    gw = linli.Gateway(nmodems=1, airtime_ms=5).start()
    m = gw.modems[0]
    try:
        # ---- backups while linlid works: each one a consistent copy ----
        for i in range(300):
            gw.send("+86139%08d" % (i % 17), "backup test %04d" % i)
        for i in range(40):
            m.deliver("+86137%08d" % i, "在备份时收到 %02d" % i)
        backups = []
        for i in range(4):
            path = os.path.join(gw.dir, "backup-%d.db" % i)
            r = ctl(gw, "backup", path)
            t.check(r.returncode == 0, "backup %d taken while linlid runs: %s%s" % (i, r.stdout.strip(), r.stderr))
            backups.append(path)
        for path in backups:
            c = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            ok = c.execute("PRAGMA integrity_check").fetchone()[0]
            fk = c.execute("PRAGMA foreign_key_check").fetchall()
            c.close()
            t.check(ok == "ok" and not fk, "%s: integrity %s, %d foreign-key faults" % (os.path.basename(path), ok,
                                                                                         len(fk)))
            mode = stat.S_IMODE(os.stat(path).st_mode)
            t.check(mode == 0o600, "%s is 0600 (%o): it holds numbers and names" % (os.path.basename(path), mode))
        r = ctl(gw, "backup", backups[0])
        t.check(r.returncode == 1 and "exists already" in r.stderr, "a backup never overwrites: %s" % r.stderr.strip())

        linli.wait_for(lambda: gw.queue()["sent"] >= 300, 240, "all sent", 0.5)
        linli.wait_for(lambda: gw.sql("SELECT count(*) FROM sms_in WHERE text LIKE '在备份时收到%'")[0][0] >= 40, 120,
                       "all received")
        final = os.path.join(gw.dir, "final.db")
        r = ctl(gw, "backup", final)
        t.check(r.returncode == 0, "a backup after the load: %s%s" % (r.stdout.strip(), r.stderr))
        sent = count(final, "SELECT count(*) FROM sms_out WHERE state = 'sent'")
        got = count(final, "SELECT count(*) FROM sms_in WHERE text LIKE '在备份时收到%'")
        t.check(sent >= 300 and got == 40, "the last backup has everything: %d sent, %d received" % (sent, got))

        # ---- one linlid per database; no restore under a running linlid ----
        r = ctl(gw, "restore", final)
        t.check(r.returncode == 1 and "running linlid" in r.stderr, "restore refused while linlid runs: %s" %
                r.stderr.strip())
        second = subprocess.run([os.path.join(linli.BUILD, "linlid"), "-c", gw.cfg], capture_output=True, text=True,
                                timeout=60, cwd=gw.dir)
        t.check(second.returncode != 0 and "in use by another linlid" in second.stderr,
                "a second linlid on the same database is refused (exit %d): %s" %
                (second.returncode, second.stderr.strip()[-200:]))
        t.check(gw.stop() == 0, "linlid stopped cleanly")

        # ---- bad files are refused with the reason, the database untouched ----
        junk = os.path.join(gw.dir, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"this is not a database\n" * 100)
        r = ctl(gw, "restore", junk)
        t.check(r.returncode == 1 and "junk.db" in r.stderr, "a file that is not SQLite: %s" % r.stderr.strip())
        other = os.path.join(gw.dir, "other.db")
        c = sqlite3.connect(other)
        c.execute("CREATE TABLE t (x)")
        c.execute("PRAGMA user_version = 3")
        c.commit()
        c.close()
        r = ctl(gw, "restore", other)
        t.check(r.returncode == 1 and "not a linli database" in r.stderr, "another SQLite file: %s" % r.stderr.strip())
        newer = os.path.join(gw.dir, "newer.db")
        shutil.copy(final, newer)
        c = sqlite3.connect(newer)
        c.execute("PRAGMA user_version = 999")
        c.commit()
        c.close()
        r = ctl(gw, "restore", newer)
        t.check(r.returncode == 1 and "newer linli" in r.stderr, "a backup from a newer build: %s" % r.stderr.strip())
        t.check(count(gw.db, "SELECT count(*) FROM sms_out WHERE state = 'sent'") >= 300,
                "the database is untouched by the refused restores")

        # ---- a restore brings back the backup and keeps what it replaced ----
        c = sqlite3.connect(gw.db)
        c.execute("DELETE FROM stat")
        c.execute("INSERT INTO stat (name, value) VALUES ('after_backup', 1)")
        c.commit()
        c.close()
        r = ctl(gw, "restore", final)
        t.check(r.returncode == 0 and "restored from" in r.stdout, "restore: %s%s" % (r.stdout.strip(), r.stderr))
        kept = [f for f in os.listdir(gw.dir) if ".pre-restore-" in f]
        t.check(len(kept) == 1, "the replaced database is kept: %s" % kept)
        if kept:
            t.check(count(os.path.join(gw.dir, kept[0]), "SELECT count(*) FROM stat WHERE name = 'after_backup'") == 1,
                    "the kept file is the database as it was before the restore")
        t.check(count(gw.db, "SELECT count(*) FROM stat WHERE name = 'after_backup'") == 0,
                "the restored database is the backup's")
        t.check(count(gw.db, "SELECT count(*) FROM sms_in WHERE text LIKE '在备份时收到%'") == 40,
                "the restored database has the 40 received messages")

        # ---- linlid runs on the restored database ----
        gw.start()
        mid = gw.send("+8613900000001", "after restore")
        linli.wait_for(lambda: gw.sql("SELECT state FROM sms_out WHERE id = ?", (mid,))[0][0] == "sent", 60,
                       "a message sent after the restore", 0.2)
        t.check(True, "linlid sends on the restored database")
        t.check(gw.stop() == 0, "linlid stopped cleanly")
    finally:
        gw.close()


linli.run(main)
