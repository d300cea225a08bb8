import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFileName, generateCrds, renderCrdYaml } from './crd-gen.js';

/** Writes crds/*.yaml (deterministic) from the zod schemas. Usage: tsx src/api/gen-crds-cli.ts [outDir] */
function main(): void {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const outDir = resolve(process.argv[2] ?? join(repoRoot, 'crds'));
  mkdirSync(outDir, { recursive: true });
  for (const crd of generateCrds()) {
    const file = join(outDir, crdFileName(crd));
    writeFileSync(file, renderCrdYaml(crd));
    console.log(`wrote ${file}`);
  }
}

main();
