/**
 * /metrics (prom-client), /healthz (the process is alive and its loops run) and /readyz (caches
 * synced and, on the leader, NATS connected). Metrics and health may share a port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  healthy(): boolean;
  /** undefined = ready; otherwise the reason it is not. */
  notReadyReason(): string | undefined;
}

export interface HttpEndpoints {
  registry?: Registry;
  health?: HealthChecks;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(port: number, endpoints: HttpEndpoints, host = '0.0.0.0'): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      try {
        if (path === '/metrics' && endpoints.registry) {
          const body = await endpoints.registry.metrics();
          res.writeHead(200, { 'content-type': endpoints.registry.contentType });
          res.end(body);
          return;
        }
        if (path === '/healthz' && endpoints.health) {
          const ok = endpoints.health.healthy();
          res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(ok ? 'ok\n' : 'unhealthy\n');
          return;
        }
        if (path === '/readyz' && endpoints.health) {
          const why = endpoints.health.notReadyReason();
          res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' });
          res.end(why ? `not ready: ${why}\n` : 'ok\n');
          return;
        }
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
