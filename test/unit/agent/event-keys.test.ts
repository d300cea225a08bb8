import { describe, expect, it } from 'vitest';
import { EventKeys } from '../../../src/agent/event-keys.js';

describe('EventKeys', () => {
  const key = Buffer.alloc(32, 7).toString('base64');

  it('keeps a key while any holder of that job still holds it', () => {
    const keys = new EventKeys();
    const first = keys.hold('u', key);
    const second = keys.hold('u', key);
    first();
    first();
    expect(keys.get('u')).toEqual(Buffer.alloc(32, 7));
    second();
    expect(keys.get('u')).toBeUndefined();
    expect(keys.size).toBe(0);
  });

  it('holds nothing for a job without a key', () => {
    const keys = new EventKeys();
    keys.hold('u', undefined)();
    expect(keys.get('u')).toBeUndefined();
  });
});
