import { NoRespondersError, RequestError } from '@nats-io/transport-node';

/** The jobs stream is full (DiscardNew: maximum bytes/messages exceeded). Leave the job Pending. */
export class QueueFullError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueFullError';
  }
}

/** NATS or JetStream cannot be reached (disconnected, timeout, no responders). Retry later. */
export class NatsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NatsUnavailableError';
  }
}

export function isQueueFull(err: unknown): boolean {
  const msg = String((err as Error)?.message ?? err);
  return /maximum (bytes|messages)( per subject)? exceeded|resource limits exceeded|insufficient resources/i.test(msg);
}

export function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string | number; message?: string };
  const msg = String(e?.message ?? err);
  return (
    ['TimeoutError', 'NoRespondersError', 'ConnectionError', 'ClosedConnectionError', 'RequestError', 'DrainingConnectionError'].includes(e?.name ?? '') ||
    /timeout|no responders|503|closed|disconnect|connection/i.test(msg)
  );
}

/** A NATS request nobody subscribes to (typed: nats.js's NoRespondersError, also when wrapped in a RequestError). */
export function isNoResponders(err: unknown): boolean {
  if (err instanceof NoRespondersError) return true;
  if (err instanceof RequestError) return err.isNoResponders();
  return false;
}
