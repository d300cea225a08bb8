import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsCluster } from '../../src/sandbox/nats-cluster.js';

/** A real JetStream cluster of nats-server children on loopback, in its own temp dir. */
export interface NatsClusterHandle {
  readonly cluster: NatsCluster;
  /** Client URLs of all nodes. */
  readonly urls: string[];
  readonly baseDir: string;
  /** Stops every node and removes the temp dir. */
  cleanup(): Promise<void>;
}

export async function startNatsCluster(opts: { size?: number } = {}): Promise<NatsClusterHandle> {
  const baseDir = await mkdtemp(join(tmpdir(), 'visionq-nats-cluster-'));
  const cluster = await NatsCluster.create({ baseDir, size: opts.size });
  try {
    await cluster.start();
  } catch (err) {
    await cluster.cleanup();
    await rm(baseDir, { recursive: true, force: true });
    throw err;
  }
  return {
    cluster,
    urls: cluster.urls,
    baseDir,
    async cleanup() {
      await cluster.cleanup();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
