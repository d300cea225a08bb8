/**
 * The one place that recognises NATS and JetStream errors: typed checks on the client's error
 * classes (@nats-io/nats-core through @nats-io/transport-node, @nats-io/jetstream) and on the
 * JetStream API error codes (`err_code`), never on message text. The predicates take `unknown`
 * so callers can pass whatever a catch gave them.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';

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

/** The cluster cannot place the replica count a stream asks for; the message says what to change. */
export class StreamReplicasError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StreamReplicasError';
  }
}

/**
 * JetStream API error codes we act on (nats-server's errors.json). The client exports a few
 * (JetStreamApiCodes); the others are spelled out here once.
 */
export const JsErrCode = {
  ...JetStreamApiCodes,
  /** "no suitable peers for placement": fewer JetStream servers than the replicas asked. */
  ClusterNoPeers: 10005,
  /** "resource limits exceeded for account" */
  AccountResourcesExceeded: 10002,
  /** "insufficient resources" */
  InsufficientResources: 10023,
  /** "sequence N not found": a delete of a sequence past the stream's last message. */
  SequenceNotFound: 10043,
  /** "{err}": a message delete failed; the description is the store's error. */
  StreamMsgDeleteFailed: 10057,
  /** "{err}": a publish could not be stored; the description is the store's error. */
  StreamStoreFailed: 10077,
} as const;

/** The JetStream API error code (`err_code`) of `err`, or undefined when it is not a JetStream API error. */
export function jsErrCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

export function isStreamNotFound(err: unknown): boolean {
  return jsErrCode(err) === JsErrCode.StreamNotFound;
}

export function isNoSuitablePeers(err: unknown): boolean {
  return jsErrCode(err) === JsErrCode.ClusterNoPeers;
}

export function isConsumerNotFound(err: unknown): boolean {
  return jsErrCode(err) === JsErrCode.ConsumerNotFound;
}

/**
 * The stream has no message at that sequence. nats-server says so three ways: 10037 (get),
 * 10043 (delete past the last message) and 10057 whose description is the store's
 * ErrStoreMsgNotFound (delete of a removed message). 10057 is a template ("{err}") shared by
 * every failed delete, so its description is what tells "already gone" from a real failure.
 */
export function isMessageNotFound(err: unknown): boolean {
  const code = jsErrCode(err);
  if (code === JsErrCode.NoMessageFound || code === JsErrCode.SequenceNotFound) return true;
  return code === JsErrCode.StreamMsgDeleteFailed && (err as JetStreamApiError).apiError().description === 'no message found';
}

/** A compare-and-set write (expected last sequence, KV create/update by revision) lost the race. */
export function isWrongLastSequence(err: unknown): boolean {
  const code = jsErrCode(err);
  return code === JsErrCode.StreamWrongLastSequence || code === JsErrCode.StreamWrongLastSequenceUnknown;
}

/**
 * The stream refused a publish for its limits (DiscardNew) or the account's. 10077 is a
 * template ("{err}"): its description names the limit (max_msgs, max_bytes, per subject).
 */
export function isQueueFull(err: unknown): boolean {
  const code = jsErrCode(err);
  if (code === JsErrCode.AccountResourcesExceeded || code === JsErrCode.InsufficientResources) return true;
  return code === JsErrCode.StreamStoreFailed && /^maximum (bytes|messages)( per subject)? exceeded/.test((err as JetStreamApiError).apiError().description);
}

/** A request nobody subscribes to: the agent's pod is gone, or a consumer's ack subject no longer exists. */
export function isNoResponders(err: unknown): boolean {
  return err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders());
}

export function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError;
}

/** The connection is closed, draining or cannot be (re)established. */
export function isConnectionError(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof ClosedConnectionError || err instanceof DrainingConnectionError;
}

/** Worth retrying later: NATS or JetStream did not answer (connection down, timeout, no responders). */
export function isUnavailable(err: unknown): boolean {
  return isConnectionError(err) || isTimeout(err) || err instanceof RequestError || err instanceof NoRespondersError;
}

/** The server refused a publish or subscribe for the user's permissions (a role doing what it may not). */
export function isPermissionViolation(err: unknown): boolean {
  return err instanceof PermissionViolationError || (err instanceof Error && err.cause instanceof PermissionViolationError);
}
