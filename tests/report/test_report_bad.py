#!/usr/bin/env python3
"""Bad input and the read-only guarantee of report / ls / show / compare:
- a missing file, a plain file, a foreign SQLite file, a registry of a newer schema version, a
  damaged file: a clear message naming the path, exit 1;
- an unknown --where / --group-by key (close keys listed), unknown metric or label, bad
  --since / --status / --sort / --format, unknown or ambiguous runs: exit 2;
- an empty registry (and one with no finished run) renders an empty table with a hint, exit 0,
  in every format;
- nothing is ever written: the registry file (WAL mode, with its -wal file) keeps its sha256
  and the directory gets no new file after every command."""
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from regfix import add_run, base_params, check, done, emolab, file_sha256, md_table, new_registry, tmpdir  # noqa: E402

d = tmpdir("bad")
FORMATS = ("md", "html", "csv", "json")


def expect(args, code, *needles):
    rc, out, err = emolab(*args)
    check(rc == code, f"{' '.join(args)}: exit {rc}, wanted {code} (stderr: {err.strip()[:300]})")
    for n in needles:
        check(n in err, f"{' '.join(args)}: stderr lacks {n!r}: {err.strip()[:400]}")
    return out, err


# ---- files that are not (usable) registries ------------------------------------------------
missing = os.path.join(d, "nope.db")
for cmd in (["report"], ["ls"], ["show", "abcd"], ["compare", "abcd", "efgh"]):
    expect(cmd + ["--registry", missing], 1, missing, "no such registry")
check(not os.path.exists(missing), "a missing registry is not created")

text = os.path.join(d, "notes.txt")
with open(text, "w") as f:
    f.write("hello, I am not a database\n" * 100)
expect(["report", "--registry", text], 1, text, "not an SQLite database")

foreign = os.path.join(d, "foreign.db")
c = sqlite3.connect(foreign)
c.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
c.commit()
c.close()
h = file_sha256(foreign)
expect(["report", "--registry", foreign], 1, foreign, "not an emolab registry")
expect(["ls", "--registry", foreign], 1, "not an emolab registry")
check(file_sha256(foreign) == h, "the foreign file is untouched")

newer = os.path.join(d, "newer.db")
db = new_registry(newer)
db.execute("INSERT INTO emolab_schema (version, applied, description) VALUES (99, '2030-01-01', 'future')")
db.commit()
db.close()
expect(["report", "--registry", newer], 1, "schema version 99", "upgrade emolab")

damaged = os.path.join(d, "damaged.db")
db = new_registry(damaged)
for i in range(300):
    add_run(db, f"r{i}", "x", val=0.5, test=0.5, created=f"2026-01-01T00:00:{i % 60:02d}.000Z")
db.close()
with open(damaged, "r+b") as f:  # keep the header page, scramble the rest
    f.seek(4096)
    f.write(os.urandom(os.path.getsize(damaged) - 4096))
rc, out, err = emolab("report", "--registry", damaged)
check(rc == 1 and damaged in err, f"a damaged registry: exit {rc}: {err.strip()[:300]}")

# ---- a good registry, in WAL mode, for the usage errors and the read-only checks ------------
reg = os.path.join(d, "r.db")
db = new_registry(reg, wal=True)
u1 = add_run(db, "bow-a", "marina", base_params("bow-a", "marina", seed=1), val=0.6, test=0.55, seed=1,
             uuid="abcd1111-0000-4000-8000-000000000001", created="2026-01-01T00:00:00.000Z",
             classes={"val": {"joy": (0.5, 0.5, 0.5, 3)}, "test": {"joy": (0.5, 0.5, 0.4, 3)}},
             epochs=[(0.5, 0.6, 0.55)], curve=[(0.5, 0.55)])
u2 = add_run(db, "bow-a", "marina", base_params("bow-a", "marina", seed=2), val=0.62, test=0.56, seed=2,
             uuid="abcd2222-0000-4000-8000-000000000002", created="2026-01-02T00:00:00.000Z", sweep="sw-1")
u3 = add_run(db, "bow-b", "ivan", base_params("bow-b", "ivan", dropout=0.5, seed=1), val=0.5, test=0.45, seed=1,
             uuid="ef012345-0000-4000-8000-000000000003", created="2026-01-03T00:00:00.000Z")
db.close()
# keep a WAL file around with content, as a live registry has (checkpoint disabled)
db = sqlite3.connect(reg)
db.execute("PRAGMA wal_autocheckpoint = 0")
add_run(db, "bow-c", "olga", base_params("bow-c", "olga", dropout=0.3, seed=1), val=0.4, test=0.4, seed=1,
        uuid="99990000-0000-4000-8000-000000000004", created="2026-01-04T00:00:00.000Z")
listing_before = sorted(os.listdir(d))
hashes_before = {f: file_sha256(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("r.db")}
# (the writer connection stays open: sqlite3 would checkpoint the WAL into r.db on close)

R = ["--registry", reg]
out, err = expect(["report", *R, "--where", "head.dropot=0.5"], 2, "head.dropot", "head.dropout", "owner")
out, err = expect(["report", *R, "--where", "dropout=0.5"], 2, "head.dropout")
expect(["report", *R, "--where", "nonsense"], 2, "KEY=VALUE")
expect(["report", *R, "--group-by", "head.actvation"], 2, "head.activation")
expect(["report", *R, "--metric", "wieghted_f1"], 2, "weighted_f1")
expect(["report", *R, "--metric", "f1:joyy"], 2, "joy")
expect(["report", *R, "--since", "last tuesday"], 2, "--since", "7d")
expect(["report", *R, "--status", "done"], 2, "finished")
expect(["report", *R, "--sort", "accuracy"], 2, "--sort")
expect(["report", *R, "--sort", "izard.val"], 2, "orig")
expect(["report", *R, "--format", "pdf"], 2, "md, html, csv or json")
expect(["report", *R, "--sweep", "sw-2"], 2, "sw-1")
expect(["report", *R, "--top", "zero"], 2, "--top")
expect(["report", *R, "--bogus"], 2, "unknown option")
expect(["ls", *R, "--where", "ownr=x"], 2, "owner")
expect(["show", "zzzz-nothing", *R], 2, "no run 'zzzz-nothing'")
expect(["show", "bow-x", *R], 2, "bow-a")  # close names
expect(["show", "abcd", *R], 2, "ambiguous", "abcd1111", "abcd2222")
expect(["show", "abc", *R], 2, "4 characters")
expect(["compare", "bow-a", *R], 2)
expect(["report", *R, "--curves", "nosuchrun", "--format", "html"], 2, "nosuchrun")

# names and prefixes that work
rc, out, err = emolab("show", "bow-a", *R)
check(rc == 0 and "abcd2222-0000-4000-8000-000000000002" in out, "a name means its latest run")
check("names 2 runs" in err and "latest" in err, f"... and emolab says so: {err.strip()}")
rc, out, err = emolab("show", "EF01", *R)
check(rc == 0 and u3 in out, "uuid prefixes are case-insensitive")
rc, out, err = emolab("compare", "abcd1111", "ef01", *R)
check(rc == 0 and "head.dropout" in out and "0.85 -> 0.5" in out, f"compare by prefixes: {err}")
rc, out, err = emolab("ls", *R, "--sweep", "sw-1")
check(rc == 0 and "abcd2222" in out and "abcd1111" not in out, "ls --sweep")

# every format and command, then: nothing written
for fmt in FORMATS:
    rc, out, err = emolab("report", *R, "--format", fmt)
    check(rc == 0 and len(out) > 100, f"report --format {fmt}: exit {rc}: {err}")
for args in (["ls"], ["ls", "--all"], ["show", "bow-b"], ["compare", "bow-a", "bow-b"],
             ["report", "--group-by", "head.dropout"], ["report", "--metric", "f1:joy", "--format", "html"]):
    rc, out, err = emolab(*args, *R)
    check(rc == 0, f"{args}: exit {rc}: {err}")
rc, out, err = emolab("report", *R, "-o", os.path.join(d, "out", "board.html"))
check(rc == 0 and os.path.exists(os.path.join(d, "out", "board.html")), f"-o writes the file: {err}")
hashes_after = {f: file_sha256(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("r.db")}
check(hashes_after.get("r.db") == hashes_before.get("r.db"), "the registry file is unchanged (sha256)")
check(hashes_after.get("r.db-wal") == hashes_before.get("r.db-wal"), "its WAL file is unchanged (sha256)")
check("r.db-wal" in hashes_before, "the fixture really has a WAL file")
new_files = set(os.listdir(d)) - set(listing_before) - {"out"}
check(not new_files, f"no new file next to the registry: {new_files}")
db.close()

# ---- empty registries: an empty table and a hint, exit 0 ----------------------------------------
empty = os.path.join(d, "empty.db")
new_registry(empty).close()
for fmt in FORMATS:
    rc, out, err = emolab("report", "--registry", empty, "--format", fmt)
    check(rc == 0, f"empty registry, {fmt}: exit {rc}: {err}")
    check("no runs yet" in err, f"empty registry, {fmt}: the hint on stderr: {err}")
    if fmt == "md":
        rows = md_table(out)
        check(len(rows) == 2 and rows[0][4:8] == ["orig val", "orig test", "ext val", "ext test"],
              f"empty md: the team's header and no row: {rows}")
        check("No runs to show" in out and "emolab run" in out, "empty md: hint")
    elif fmt == "csv":
        check(out.count("\n") == 1 and out.startswith("rank,variant"), f"empty csv: the header only: {out!r}")
    elif fmt == "json":
        j = json.loads(out)
        check(j["rows"] == [] and "no runs yet" in j["hint"], "empty json: no rows, a hint")
    else:
        check("No runs to show" in out and "</html>" in out, "empty html: a hint in the table")
expect(["report", "--registry", empty, "--where", "anything.at.all=1"], 0)  # nothing to know keys from
rc, out, err = emolab("ls", "--registry", empty)
check(rc == 0 and "no runs" in out, f"ls on an empty registry: {out}")

only_running = os.path.join(d, "running.db")
db = new_registry(only_running)
add_run(db, "r", "x", status="running")
db.close()
rc, out, err = emolab("report", "--registry", only_running)
check(rc == 0 and "has finished yet" in err and "--status any" in err, f"no finished run: {err}")

done("test_report_bad")
