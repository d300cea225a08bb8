import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  health(): { natsConnected: boolean; running: number; draining: boolean; stopping: boolean };
}

/**
 * /healthz (liveness: 200 while the agent lives — a NATS outage must not get a busy
 * pod restarted), /readyz (503 while disconnected), /metrics.
 */
export async function startHttpServer(port: number, host: string, src: HealthSource, registry: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz' || url === '/readyz') {
      const h = src.health();
      const ok = url === '/healthz' || (h.natsConnected && !h.stopping);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...h }));
      return;
    }
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
