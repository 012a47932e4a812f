import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);

export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A CA that did not sign the server certificate */
  otherCaFile: string;
  caPem: string;
}

async function makeCa(dir: string, name: string) {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    key,
    '-out',
    crt,
  );
  return { key, crt };
}

/** A throwaway CA and a server certificate for localhost / 127.0.0.1. */
export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'kc-tls-'));
  const ca = await makeCa(dir, 'test-ca');
  const other = await makeCa(dir, 'other-ca');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    keyFile,
    '-out',
    csr,
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.crt,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    certFile,
  );
  return {
    dir,
    caFile: ca.crt,
    certFile,
    keyFile,
    otherCaFile: other.crt,
    caPem: readFileSync(ca.crt, 'utf8'),
  };
}
