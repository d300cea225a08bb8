import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { badRequest } from '../errors.js';
import type { KubeObject } from '../storage/store.js';

export interface LogRequest {
  namespace: string;
  pod: KubeObject;
  container?: string;
  tailLines?: number;
  follow: boolean;
  /** Polled while following: the pod as it is now, or undefined once deleted. */
  current: () => KubeObject | undefined;
}

/** The container whose log is asked for, with the real server's error when it is ambiguous. */
export function pickContainer(pod: KubeObject, container: string | undefined): string {
  const names: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
  const all = [...names, ...(pod.spec?.initContainers ?? []).map((c: any) => c.name)];
  if (container) {
    if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
    return container;
  }
  if (names.length === 1) return names[0]!;
  throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
}

function lastLines(text: string, n: number): string {
  if (n <= 0) return '';
  const lines = text.split('\n');
  const trailing = text.endsWith('\n');
  if (trailing) lines.pop();
  return lines.slice(-n).join('\n') + (trailing && lines.length > 0 ? '\n' : '');
}

function containerDone(pod: KubeObject | undefined, container: string): boolean {
  if (!pod) return true;
  const statuses: any[] = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const s = statuses.find((x) => x.name === container);
  if (s?.state?.terminated && !s?.state?.running) {
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.spec?.restartPolicy === 'Never';
  }
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Streams `${dir}/${namespace}/${pod}/${container}.log`, following it while the container runs. */
export async function serveLog(dir: string, req: LogRequest, res: ServerResponse, pollMs = 200): Promise<void> {
  const container = pickContainer(req.pod, req.container);
  const file = join(dir, req.namespace, req.pod.metadata.name, `${container}.log`);
  if (!(await stat(file).catch(() => undefined))) {
    // Like the kubelet: no output yet and the container never started is an error, not an empty log.
    const statuses: any[] = [...(req.pod.status?.containerStatuses ?? []), ...(req.pod.status?.initContainerStatuses ?? [])];
    const s = statuses.find((x) => x.name === container);
    if (!s || (s.state?.waiting && !s.lastState?.terminated)) {
      throw badRequest(`container "${container}" in pod "${req.pod.metadata.name}" is waiting to start: ${s?.state?.waiting?.reason ?? 'ContainerCreating'}`);
    }
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', ...(req.follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
  res.flushHeaders();
  let offset = 0;
  const readFrom = async (start: number): Promise<Buffer> => {
    const fh = await open(file, 'r').catch(() => undefined);
    if (!fh) return Buffer.alloc(0);
    try {
      const { size } = await fh.stat();
      if (size <= start) return Buffer.alloc(0);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf;
    } finally {
      await fh.close();
    }
  };
  const first = await readFrom(0);
  offset = first.length;
  res.write(req.tailLines !== undefined ? lastLines(first.toString('utf8'), req.tailLines) : first);
  if (!req.follow) {
    res.end();
    return;
  }
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  while (!closed) {
    await new Promise((r) => setTimeout(r, pollMs));
    const more = await readFrom(offset);
    if (more.length > 0) {
      offset += more.length;
      res.write(more);
    }
    if (containerDone(req.current(), container)) {
      const rest = await readFrom(offset);
      if (rest.length > 0) res.write(rest);
      break;
    }
    // A truncated file (container restarted) starts over.
    const st = await stat(file).catch(() => undefined);
    if (st && st.size < offset) offset = 0;
  }
  res.end();
}
