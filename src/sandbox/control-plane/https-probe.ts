import { request } from 'node:https';

export interface ProbeTarget {
  url: string;
  ca?: string;
  token?: string;
  /** Components' self-signed serving certificates are not ours to verify. */
  insecure?: boolean;
}

/** GET over HTTPS; resolves with the status code and body, never rejects on non-2xx. */
export function httpsGet(target: ProbeTarget, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method: 'GET',
        ca: target.ca,
        rejectUnauthorized: !target.insecure,
        headers: target.token ? { Authorization: `Bearer ${target.token}` } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${target.url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function isOk(target: ProbeTarget): Promise<boolean> {
  const { status } = await httpsGet(target);
  return status === 200;
}
