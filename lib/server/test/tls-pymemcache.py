# Debian python3-pymemcache over TLS (its tls_context= option): the same steps against any
# server; prints one JSON list of [step, result] pairs so the test compares servers.
# Args: HOST PORT CA CLIENT_CERT CLIENT_KEY WRONG_CA ('-' for no client certificate).
import json
import ssl
import sys
from pymemcache.client.base import Client

host, port, ca, cert, key, wrong_ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
out = []


def step(name, fn):
    try:
        out.append([name, fn()])
    except ssl.SSLCertVerificationError:
        out.append([name, 'error: SSLCertVerificationError'])
    except ssl.SSLError:  # EOF or an alert: how a refusal looks differs by server, not its meaning
        out.append([name, 'error: SSLError'])
    except Exception as e:  # errors are results too (type only: OpenSSL's wording varies)
        out.append([name, 'error: %s' % type(e).__name__])


def context(cafile, with_cert):
    ctx = ssl.create_default_context(cafile=cafile)
    if with_cert and cert != '-':
        ctx.load_cert_chain(cert, key)
    return ctx


c = Client((host, port), connect_timeout=5, timeout=5, tls_context=context(ca, True))
step('set', lambda: c.set('k', 'v' * 3000, noreply=False))
step('get', lambda: len(c.get('k')))
step('add existing', lambda: c.add('k', 'x', noreply=False))
step('incr', lambda: c.set('n', '1', noreply=False) and c.incr('n', 41))
step('get_many', lambda: sorted(c.get_many(['k', 'n', 'missing']).keys()))
step('delete', lambda: c.delete('k', noreply=False))
step('version', lambda: isinstance(c.version(), bytes))
c.close()
w = Client((host, port), connect_timeout=5, timeout=5, tls_context=context(wrong_ca, True))
step('server cert from another CA', lambda: w.get('n'))
w.close()
n = Client((host, port), connect_timeout=5, timeout=5, tls_context=context(ca, False))
step('no client certificate', lambda: n.get('n'))
n.close()
print(json.dumps(out))
