"""Scenario for Debian's python3-memcache (python-memcached, text protocol).

Prints "ok <n> checks" and exits 0, or prints the failed check and exits 1.
"""
import sys
import time

import memcache

host, port = sys.argv[1], int(sys.argv[2])
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        print(f"FAIL {what}: got {got!r}, want {want!r}")
        sys.exit(1)


c = memcache.Client([f"{host}:{port}"], cache_cas=True, socket_timeout=10)
check("flush_all", c.flush_all(), None)
check("set", c.set("pm:a", "hello"), True)
check("get", c.get("pm:a"), "hello")
check("get miss", c.get("pm:none"), None)
check("set int", c.set("pm:i", 42), True)
check("get int", c.get("pm:i"), 42)
check("set obj", c.set("pm:o", {"k": [1, 2]}), True)
check("get obj", c.get("pm:o"), {"k": [1, 2]})
check("get_multi", c.get_multi(["pm:a", "pm:i", "pm:none"]), {"pm:a": "hello", "pm:i": 42})
check("set_multi", c.set_multi({"pm:m1": "1", "pm:m2": "2"}), [])
check("get_multi 2", c.get_multi(["pm:m1", "pm:m2"]), {"pm:m1": "1", "pm:m2": "2"})
check("add existing", c.add("pm:a", "x"), False)
check("add new", c.add("pm:b", "bee"), True)
check("replace missing", c.replace("pm:none", "x"), False)
check("replace", c.replace("pm:b", "B"), True)
check("append", c.append("pm:b", "++"), True)
check("prepend", c.prepend("pm:b", "--"), True)
check("after append/prepend", c.get("pm:b"), "--B++")
check("delete", c.delete("pm:b"), 1)
check("delete miss", c.delete("pm:b"), 1)  # python-memcache reports NOT_FOUND as success too
check("set counter", c.set("pm:n", "10"), True)
check("incr", c.incr("pm:n", 5), 15)
check("decr", c.decr("pm:n", 20), 0)
check("incr miss", c.incr("pm:nope"), None)
check("gets", c.gets("pm:a"), "hello")
check("cas ok", c.cas("pm:a", "world"), True)
other = memcache.Client([f"{host}:{port}"], cache_cas=True)
check("other gets", other.gets("pm:a"), "world")
check("other set", other.set("pm:a", "theirs"), True)
check("gets again", c.gets("pm:a"), "theirs")
check("other overwrites", other.set("pm:a", "again"), True)
check("cas stale", c.cas("pm:a", "mine"), False)
check("touch", c.touch("pm:a", 100), True)
binary = bytes(range(256)) + b"\r\nEND\r\n\x00"
check("set bytes", c.set("pm:bin", binary), True)
check("get bytes", c.get("pm:bin"), binary)
big = "x" * 1000000
check("set ~1MB", c.set("pm:big", big), True)
check("get ~1MB", c.get("pm:big"), big)
stats = c.get_stats()
check("stats servers", len(stats), 1)
check("stats curr_items", int(stats[0][1]["curr_items"]) >= 5, True)
# TTL 3, not 1: memcached's clock moves in whole seconds, so a TTL of 1 can expire a few
# milliseconds after the set (the next tick); 3 leaves at least 2 s for the presence check.
check("set ttl 3", c.set("pm:ttl", "x", time=3), True)
check("ttl present", c.get("pm:ttl"), "x")
deadline = time.time() + 8
while c.get("pm:ttl") is not None and time.time() < deadline:
    time.sleep(0.1)
check("ttl expired", c.get("pm:ttl"), None)
c.flush_all()
check("after flush", c.get("pm:a"), None)
c.disconnect_all()
other.disconnect_all()
print(f"ok {checks} checks")
