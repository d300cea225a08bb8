import { describe, expect, it } from 'vitest';
import { nameForKey, submitHash } from '../../../src/client/idempotency.js';
import { DNS1123_LABEL_MAX, DNS1123_LABEL_PATTERN } from '../../../src/api/constants.js';

const label = new RegExp(DNS1123_LABEL_PATTERN);

describe('client idempotency', () => {
  it('derives one valid DNS-1123 name per key, whatever the prefix', () => {
    expect(nameForKey('upload-42')).toBe(nameForKey('upload-42'));
    expect(nameForKey('upload-42')).not.toBe(nameForKey('upload-43'));
    for (const prefix of [undefined, 'cam-', 'Cam_01.', '-x', 'a'.repeat(80)]) {
      const n = nameForKey('k', prefix);
      expect(n).toMatch(label);
      expect(n.length).toBeLessThanOrEqual(DNS1123_LABEL_MAX);
    }
    expect(nameForKey('k', 'cam-')).toMatch(/^cam-[0-9a-f]{20}$/);
  });

  it('hashes the submitted spec independently of key order, and tells different specs apart', () => {
    expect(submitHash({ pool: 'p', input: { a: 1, b: [1, 2] } })).toBe(submitHash({ input: { b: [1, 2], a: 1 }, pool: 'p' }));
    expect(submitHash({ pool: 'p', input: { a: 1 } })).not.toBe(submitHash({ pool: 'p', input: { a: 2 } }));
    expect(submitHash({ pool: 'p', tenant: undefined })).toBe(submitHash({ pool: 'p' }));
  });
});
