import { describe, expect, it } from 'vitest';
import { JetStreamApiError } from '@nats-io/jetstream';
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import {
  isConnectionError,
  isConsumerNotFound,
  isMessageNotFound,
  isNoResponders,
  isQueueFull,
  isStreamNotFound,
  isTimeout,
  isUnavailable,
  isWrongLastSequence,
  jsErrCode,
} from '../../../src/queue/errors.js';

const api = (err_code: number, description: string, code = 400) => new JetStreamApiError({ code, err_code, description });

describe('typed NATS error predicates', () => {
  it('tell JetStream API errors apart by err_code, not by text', () => {
    expect(isStreamNotFound(api(10059, 'stream not found', 404))).toBe(true);
    expect(isConsumerNotFound(api(10014, 'consumer not found', 404))).toBe(true);
    expect(isStreamNotFound(api(10014, 'consumer not found', 404))).toBe(false);
    expect(isConsumerNotFound(api(10059, 'stream not found', 404))).toBe(false);
    // The same words in an error that is not a JetStream API error mean nothing.
    expect(isStreamNotFound(new Error('stream not found'))).toBe(false);
    expect(isConsumerNotFound({ code: 10014, message: 'consumer not found' })).toBe(false);
    expect(jsErrCode(api(10071, 'wrong last sequence: 1'))).toBe(10071);
    expect(jsErrCode('10071')).toBeUndefined();
  });

  it('recognise a missing message in each way the server reports it', () => {
    expect(isMessageNotFound(api(10037, 'no message found', 404))).toBe(true);
    expect(isMessageNotFound(api(10043, 'sequence 3 not found'))).toBe(true);
    expect(isMessageNotFound(api(10057, 'no message found', 500))).toBe(true);
    // A failed delete for another reason is a real failure.
    expect(isMessageNotFound(api(10057, 'stream store EOF', 500))).toBe(false);
    expect(isMessageNotFound(api(10059, 'stream not found', 404))).toBe(false);
  });

  it('recognise lost compare-and-set writes and full streams', () => {
    expect(isWrongLastSequence(api(10071, 'wrong last sequence: 1'))).toBe(true);
    expect(isWrongLastSequence(api(10164, 'wrong last sequence'))).toBe(true);
    expect(isWrongLastSequence(new Error('wrong last sequence: 1'))).toBe(false);
    expect(isQueueFull(api(10077, 'maximum messages exceeded', 503))).toBe(true);
    expect(isQueueFull(api(10077, 'maximum bytes exceeded', 503))).toBe(true);
    expect(isQueueFull(api(10077, 'maximum messages per subject exceeded', 503))).toBe(true);
    expect(isQueueFull(api(10023, 'insufficient resources', 503))).toBe(true);
    expect(isQueueFull(api(10002, 'resource limits exceeded for account', 400))).toBe(true);
    expect(isQueueFull(api(10077, 'stream store EOF', 503))).toBe(false);
    expect(isQueueFull(new Error('maximum messages exceeded'))).toBe(false);
  });

  it('classify connection, timeout and no-responder errors by class', () => {
    const noResp = new RequestError("no responders: 'x'", { cause: new NoRespondersError('x') });
    expect(isNoResponders(noResp)).toBe(true);
    expect(isNoResponders(new NoRespondersError('x'))).toBe(true);
    expect(isNoResponders(new RequestError('other', { cause: new TimeoutError() }))).toBe(false);
    expect(isNoResponders(new Error('no responders'))).toBe(false);
    expect(isTimeout(new TimeoutError())).toBe(true);
    expect(isTimeout(new Error('timeout'))).toBe(false);
    for (const e of [new ConnectionError('connection refused'), new ClosedConnectionError(), new DrainingConnectionError()]) expect(isConnectionError(e)).toBe(true);
    expect(isConnectionError(new Error('connection closed'))).toBe(false);
    for (const e of [noResp, new TimeoutError(), new ClosedConnectionError(), new ConnectionError('x')]) expect(isUnavailable(e)).toBe(true);
    expect(isUnavailable(api(10077, 'maximum messages exceeded', 503))).toBe(false);
    expect(isUnavailable(new Error('connection timeout'))).toBe(false);
    expect(isUnavailable(undefined)).toBe(false);
  });
});
