import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

export interface RawRequest {
  method?: string;
  path: string;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

/** Plain HTTP(S) requests with the kubeconfig's credentials, for wire-level assertions. */
export class RawClient {
  constructor(private readonly kc: KubeConfig) {}

  private async options(path: string, method: string, headers: Record<string, string>): Promise<{ mod: typeof http | typeof https; opts: https.RequestOptions }> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const base = new URL(cluster.server);
    const url = new URL(path, base);
    const opts: https.RequestOptions = { method, hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { ...headers } };
    await this.kc.applyToHTTPSOptions(opts);
    return { mod: url.protocol === 'https:' ? https : http, opts };
  }

  async request(req: RawRequest): Promise<RawResponse> {
    const method = req.method ?? 'GET';
    const headers: Record<string, string> = { Accept: req.accept ?? 'application/json' };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['Content-Type'] = req.contentType ?? 'application/json';
    }
    const { mod, opts } = await this.options(req.path, method, headers);
    return new Promise((resolve, reject) => {
      const r = mod.request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  }

  /** Opens a watch stream; events arrive parsed. Close with stop(). */
  async watch(path: string, accept = 'application/json'): Promise<WatchStream> {
    const { mod, opts } = await this.options(path, 'GET', { Accept: accept });
    return new Promise((resolve, reject) => {
      const stream = new WatchStream();
      const r = mod.request(opts, (res) => {
        stream.status = res.statusCode ?? 0;
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) stream.events.push(JSON.parse(line));
          }
        });
        res.on('end', () => {
          if (buf.trim()) {
            try {
              stream.events.push(JSON.parse(buf));
            } catch {
              stream.body = buf;
            }
          }
          stream.ended = true;
        });
        res.on('error', () => {
          stream.ended = true;
        });
        resolve(stream);
      });
      stream.stop = () => {
        r.destroy();
        stream.ended = true;
      };
      r.on('error', (err) => {
        if (!stream.ended) reject(err);
      });
      r.end();
    });
  }
}

export class WatchStream {
  status = 0;
  events: { type: string; object: any }[] = [];
  ended = false;
  body = '';
  stop: () => void = () => {};
}
