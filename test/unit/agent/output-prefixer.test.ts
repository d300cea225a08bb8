import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeWithPrefix } from '../../../src/agent/output-prefixer.js';

describe('output prefixing', () => {
  it('prefixes every line, including a last partial one', async () => {
    const lines: string[] = [];
    await pipeWithPrefix(Readable.from(['hel', 'lo\nwor', 'ld\n', 'tail']), '[j] ', 'stdout', (_s, l) => lines.push(l));
    expect(lines).toEqual(['[j] hello', '[j] world', '[j] tail']);
  });
});
