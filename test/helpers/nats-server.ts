import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { freePort } from './free-port.js';

/** A real nats-server child with JetStream on, its own port and storage dir. */
export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Stops the process (SIGTERM, then SIGKILL) but keeps the storage dir. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same storage dir. */
  start(): Promise<void>;
  /** Stops it and removes the storage dir. */
  cleanup(): Promise<void>;
}

export async function startNatsServer(opts: { port?: number } = {}): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'visionq-nats-'));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 10_000) stderr = stderr.slice(-10_000);
    });
    const exited = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`cannot start nats-server (is it installed? apt-get install -y nats-server): ${err.message}`)));
      proc.once('exit', (code) => reject(new Error(`nats-server exited early with code ${code}: ${stderr}`)));
    });
    await Promise.race([waitForPort(port, 15_000), exited]);
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    start,
    async cleanup() {
      await stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}
