import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files of a throw-away CA and the server and client certificates it signed. */
export interface TestCerts {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The files' contents by the key names a cert-manager Secret uses for the client: ca.crt, tls.crt, tls.key. */
  clientSecretData(): Promise<Record<string, string>>;
}

/**
 * Makes the certificates with the `openssl` CLI (EC P-256: fast to generate) in `dir`. The
 * server's certificate is valid for 127.0.0.1 and localhost, the name test servers listen on.
 */
export async function makeTestCerts(dir: string): Promise<TestCerts> {
  const f = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=visionq test CA']);
  const issue = async (name: string, subject: string, ext: string): Promise<void> => {
    await run('openssl', ['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject]);
    await writeFile(f(`${name}.ext`), ext);
    await run('openssl', [
      'x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`),
    ]);
  };
  await issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await issue('client', '/CN=visionq-agent', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    async clientSecretData() {
      return {
        'ca.crt': await readFile(f('ca.crt'), 'utf8'),
        'tls.crt': await readFile(f('client.crt'), 'utf8'),
        'tls.key': await readFile(f('client.key'), 'utf8'),
      };
    },
  };
}
