import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { serveLog } from '../api-server/http/pod-logs.js';

export interface KubeletServerTls {
  cert: string;
  key: string;
  /** Client certificates must chain to this CA: only the apiserver may ask for logs. */
  clientCa: string;
}

export interface KubeletServerOptions {
  tls: KubeletServerTls;
  podLogDir: string;
  /** The kubelet's view of a pod (its informer), by namespace and name. */
  pod: (namespace: string, name: string) => V1Pod | undefined;
  logger: Logger;
  host?: string;
}

/**
 * The kubelet's HTTPS endpoint (Node status.daemonEndpoints.kubeletEndpoint) as far as the
 * apiserver uses it here: `GET /containerLogs/{ns}/{pod}/{container}`, which is what
 * `kubectl logs` turns into once the apiserver has authorized it. One server plays every
 * simulated node: they share the loopback address and pod names are unique per namespace.
 */
export class KubeletServer {
  private server: Server | undefined;

  constructor(private readonly opts: KubeletServerOptions) {}

  async start(port = 0): Promise<number> {
    const server = createServer(
      { cert: this.opts.tls.cert, key: this.opts.tls.key, ca: this.opts.tls.clientCa, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const url = new URL(req.url ?? '/', 'https://kubelet');
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (req.method !== 'GET' || !m) {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
          return;
        }
        const [namespace, name, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
        const pod = this.opts.pod(namespace, name);
        if (!pod) {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`pod ${namespace}/${name} not found on this node\n`);
          return;
        }
        const tail = url.searchParams.get('tailLines');
        serveLog(this.opts.podLogDir, {
          namespace,
          pod: pod as never,
          container,
          follow: url.searchParams.get('follow') === 'true',
          tailLines: tail !== null ? Number(tail) : undefined,
          current: () => this.opts.pod(namespace, name) as never,
        }, res).catch((err: Error & { code?: number }) => {
          if (res.headersSent) {
            res.end();
            return;
          }
          res.writeHead(err.code && err.code >= 400 && err.code < 600 ? err.code : 500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`);
        });
      },
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    const addr = server.address() as AddressInfo;
    this.opts.logger.info({ port: addr.port }, 'kubelet endpoint serving');
    return addr.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
