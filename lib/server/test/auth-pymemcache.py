# Debian python3-pymemcache (text protocol) logging in with memcached's ASCII auth (-Y):
# the login is an ordinary set whose value is "<user> <password>". Prints one JSON list of
# [step, result] pairs for HOST PORT USER PASSWORD so the test can compare servers.
import json
import sys
from pymemcache.client.base import Client

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = []


def step(name, fn):
    try:
        out.append([name, fn()])
    except Exception as e:  # errors are results too
        out.append([name, 'error: %s %s' % (type(e).__name__, str(e))])


c = Client((host, port), connect_timeout=5, timeout=5)
step('get before login', lambda: c.get('k'))
c.close()
c = Client((host, port), connect_timeout=5, timeout=5)
step('login', lambda: c.set('auth', '%s %s' % (user, password), noreply=False))
step('set', lambda: c.set('k', 'v', noreply=False))
step('get', lambda: c.get('k') and c.get('k').decode())
step('incr', lambda: c.set('n', '1', noreply=False) and c.incr('n', 41))
step('version', lambda: isinstance(c.version(), bytes))
c.close()
print(json.dumps(out))
