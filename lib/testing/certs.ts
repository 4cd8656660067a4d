/**
 * Test certificates made with the real `openssl` CLI into a temp dir (removed at teardown):
 * a CA, a server certificate for localhost/127.0.0.1 and a client certificate signed by it,
 * and a second, unrelated CA with a certificate of its own (the "wrong CA" cases). EC P-256
 * keys: quick to make on a loaded machine. Test-only code: unstable API.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Teardown } from './zookeeper.js'

export interface TestCerts {
  dir: string
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** An unrelated CA, and a certificate it signed (valid for localhost too). */
  wrongCa: string
  wrongCert: string
  wrongKey: string
}

export function haveOpenssl (): boolean {
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); return true } catch { return false }
}

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

function ca (dir: string, name: string): void {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`])
}

/** A certificate for cn signed by the CA `signer`, usable as server and as client. */
export function signedCert (dir: string, signer: string, name: string, cn = name): void {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
  fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n')
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`])
}

export function makeCerts (t: Teardown): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-certs-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  ca(dir, 'ca')
  ca(dir, 'wrongca')
  signedCert(dir, 'ca', 'server', 'localhost')
  signedCert(dir, 'ca', 'client')
  signedCert(dir, 'wrongca', 'wrong')
  const p = (f: string): string => path.join(dir, f)
  return {
    dir,
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    wrongCa: p('wrongca.crt'),
    wrongCert: p('wrong.crt'),
    wrongKey: p('wrong.key'),
  }
}
