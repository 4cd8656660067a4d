"""Scenario for Debian's python3-pymemcache (text protocol) against HOST PORT.

Prints "ok <n> checks" and exits 0, or prints the failed check and exits 1.
Run with /usr/bin/python3 so Debian's dist-packages are on the path.
"""
import sys
import time

from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        print(f"FAIL {what}: got {got!r}, want {want!r}")
        sys.exit(1)


c = Client((host, port), connect_timeout=5, timeout=10, default_noreply=False)
c.flush_all()
check("set", c.set("py:a", b"hello"), True)
check("get", c.get("py:a"), b"hello")
check("get miss", c.get("py:none"), None)
check("get_many", c.get_many(["py:a", "py:none", "py:b"]), {"py:a": b"hello"})
check("add existing", c.add("py:a", b"x"), False)
check("add new", c.add("py:b", b"bee"), True)
check("get_many 2", c.get_many(["py:a", "py:b"]), {"py:a": b"hello", "py:b": b"bee"})
check("replace missing", c.replace("py:none", b"x"), False)
check("replace", c.replace("py:b", b"B"), True)
check("append", c.append("py:b", b"++"), True)
check("prepend", c.prepend("py:b", b"--"), True)
check("after append/prepend", c.get("py:b"), b"--B++")
check("delete", c.delete("py:b"), True)
check("delete miss", c.delete("py:b"), False)
check("set counter", c.set("py:n", b"10"), True)
check("incr", c.incr("py:n", 5), 15)
check("decr", c.decr("py:n", 20), 0)
check("incr miss", c.incr("py:nope", 1), None)
check("incr wrap", (c.set("py:w", b"18446744073709551615"), c.incr("py:w", 1))[1], 0)
value, cas = c.gets("py:a")
check("gets", value, b"hello")
check("cas ok", c.cas("py:a", b"world", cas), True)
check("cas stale", c.cas("py:a", b"again", cas), False)
check("cas missing", c.cas("py:missing", b"x", cas), None)
check("gets_many", sorted(c.gets_many(["py:a", "py:n"]).keys()), ["py:a", "py:n"])
check("touch", c.touch("py:a", 100), True)
check("touch miss", c.touch("py:none", 100), False)
binary = bytes(range(256)) * 4 + b"\r\nEND\r\n\x00"
check("set binary", c.set("py:bin", binary), True)
check("get binary", c.get("py:bin"), binary)
check("flags", (c.set("py:f", b"v", flags=12345), c.get("py:f")), (True, b"v"))
big = bytes((i * 7) & 0xFF for i in range(1000000))
check("set ~1MB", c.set("py:big", big), True)
check("get ~1MB", c.get("py:big"), big)
try:
    c.set("py:toobig", b"x" * (1024 * 1024 + 1))
    check("set too large raises", False, True)
except Exception as e:  # pymemcache raises MemcacheServerError
    check("too large error", "object too large" in str(e), True)
check("noreply set", c.set("py:nr", b"q", noreply=True), True)
check("noreply value", c.get("py:nr"), b"q")
stats = c.stats()
check("stats curr_items", stats[b"curr_items"] >= 5, True)
check("stats version", isinstance(stats[b"version"], bytes), True)
check("version", len(c.version()) > 0, True)
# TTL 3, not 1: memcached's clock moves in whole seconds, so a TTL of 1 can expire a few
# milliseconds after the set (the next tick); 3 leaves at least 2 s for the presence check.
check("set ttl 3", c.set("py:ttl", b"x", expire=3), True)
check("ttl present", c.get("py:ttl"), b"x")
deadline = time.time() + 8
while c.get("py:ttl") is not None and time.time() < deadline:
    time.sleep(0.1)
check("ttl expired", c.get("py:ttl"), None)
check("flush_all", c.flush_all(), True)
check("after flush", c.get("py:a"), None)
c.close()
print(f"ok {checks} checks")
