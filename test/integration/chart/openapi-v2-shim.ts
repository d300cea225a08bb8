/**
 * A pass-through HTTP proxy in front of the sandbox API server that also answers
 * GET /openapi/v2, which helm 3.10 fetches (as protobuf) before creating objects
 * and the sandbox does not serve (it serves /openapi/v3). The answer is the
 * smallest valid gnostic openapi_v2.Document: swagger "2.0" and an info block,
 * no definitions (so helm must run with --disable-openapi-validation).
 * Everything else is forwarded unchanged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

function protoString(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > 127) throw new Error('short strings only');
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

function minimalOpenApiV2(): Buffer {
  const info = Buffer.concat([protoString(1, 'Kubernetes'), protoString(2, 'v1.30.0')]);
  return Buffer.concat([protoString(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
}

export interface OpenApiShim {
  url: string;
  close(): Promise<void>;
}

export async function startOpenApiV2Shim(target: string): Promise<OpenApiShim> {
  const doc = minimalOpenApiV2();
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/openapi/v2')) {
      // Not the protobuf media type: Go's mime parser rejects its '@'; real servers send this too.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(doc);
      return;
    }
    const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
