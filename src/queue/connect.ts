import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

export interface ConnectNatsOptions {
  servers: string | string[];
  /** Name shown in the server's connection list (e.g. the pod name). */
  name: string;
  /** A NATS `.creds` file (JWT + nkey seed). */
  credsFile?: string;
  /** Static user/password (nats-server `authorization { users }`). */
  user?: string;
  password?: string;
  /** Prefix of this connection's reply inboxes (default `_INBOX`), for users allowed only their own. */
  inboxPrefix?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Default -1: reconnect forever (hour-long jobs must survive any outage). */
  maxReconnectAttempts?: number;
  reconnectTimeWaitMs?: number;
  /** Random extra wait per reconnect attempt, so hundreds of agents do not reconnect in step. Default 1 s. */
  reconnectJitterMs?: number;
}

/**
 * Connects with credentials/TLS, waits for the first connect (retrying) and reconnects
 * forever after outages. With several servers (a comma list, plus the cluster's gossiped
 * URLs) the client walks all of them in random order on every reconnect round.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const creds = opts.credsFile ? await readFile(opts.credsFile) : undefined;
  const tls = opts.tls && (opts.tls.caFile || opts.tls.certFile || opts.tls.keyFile)
    ? { caFile: opts.tls.caFile, certFile: opts.tls.certFile, keyFile: opts.tls.keyFile }
    : undefined;
  return connect({
    servers: serverList(opts.servers),
    name: opts.name,
    authenticator: creds ? credsAuthenticator(new Uint8Array(creds)) : undefined,
    user: opts.user,
    pass: opts.password,
    inboxPrefix: opts.inboxPrefix,
    tls,
    maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 500,
    reconnectJitter: opts.reconnectJitterMs ?? 1000,
    reconnectJitterTLS: opts.reconnectJitterMs ?? 1000,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    maxPingOut: 3,
  });
}

/** nats.js takes a list but not a comma-separated string, which is how URLs come from flags and env. */
export function serverList(servers: string | string[]): string[] {
  return [servers].flat().flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}
