/**
 * How many copies JetStream keeps of visionq's streams and KV bucket. A job queue on one
 * NATS server stops when that pod moves and loses every queued job with its volume, so on a
 * cluster the default is R3. The controller cannot ask how many JetStream servers exist
 * without the system account, so `auto` reads the cluster's client URLs from the server's
 * INFO (every server of a cluster gossips its URL unless `no_advertise` is set).
 */
import type { ServerInfo } from '@nats-io/transport-node';

/** `auto` (3 on a cluster of 3 or more servers, else 1) or a fixed count, 1 to 5. */
export type ReplicasSetting = 'auto' | number;

export const MAX_REPLICAS = 5;

export class ReplicasSettingError extends Error {
  override name = 'ReplicasSettingError';
}

export function parseReplicasSetting(value: string): ReplicasSetting {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || v === '') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw new ReplicasSettingError(`NATS replicas must be "auto" or an integer from 1 to ${MAX_REPLICAS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The servers this connection knows of: itself plus the cluster's advertised client URLs. */
export function clusterSize(info: Pick<ServerInfo, 'cluster' | 'connect_urls' | 'jetstream'> | undefined): number {
  if (!info?.jetstream) return 0;
  if (!info.cluster) return 1;
  return Math.max(1, new Set(info.connect_urls ?? []).size);
}

/** Replicas that `auto` asks for on this cluster. */
export function autoReplicas(info: Pick<ServerInfo, 'cluster' | 'connect_urls' | 'jetstream'> | undefined): number {
  return clusterSize(info) >= 3 ? 3 : 1;
}

/**
 * The replica count to apply to a stream that has `current` replicas (undefined: not created
 * yet). `auto` never lowers an existing count: a controller that starts while one server of
 * three is down sees two URLs, and must not scale the queue down to one copy.
 */
export function wantedReplicas(setting: ReplicasSetting, info: Pick<ServerInfo, 'cluster' | 'connect_urls' | 'jetstream'> | undefined, current?: number): number {
  if (setting !== 'auto') return setting;
  return Math.max(autoReplicas(info), current ?? 1);
}
