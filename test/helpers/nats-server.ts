import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServerProcess } from '../../src/sandbox/nats-server-process.js';
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

/** `config`: nats-server config text (e.g. an `authorization` block), written to the store dir and passed with `-c`. */
export async function startNatsServer(opts: { port?: number; config?: string } = {}): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = await mkdtemp(join(tmpdir(), 'visionq-nats-'));
  const extraArgs: string[] = [];
  if (opts.config !== undefined) {
    const file = join(storeDir, 'nats-server.conf');
    await writeFile(file, opts.config);
    extraArgs.push('-c', file);
  }
  const proc = new NatsServerProcess({ port, storeDir: join(storeDir, 'js'), extraArgs });
  await proc.start();
  return {
    url: proc.url,
    port,
    storeDir,
    stop: () => proc.stop(),
    start: () => proc.start(),
    async cleanup() {
      await proc.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
