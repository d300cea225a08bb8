import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/**
 * The visionq package root (holding crds/, examples/, dist/). This file sits two levels
 * below it both as src/sandbox/*.ts (tsx, tests) and as dist/sandbox/*.js (built CLI).
 */
export const packageRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
