import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFileName, generateCrds, renderCrdYaml } from './crd-gen.js';

/**
 * Writes the CRDs (deterministic YAML) from the zod schemas into crds/ and the chart's
 * crds/ (Helm installs CRDs only from there; both copies must stay identical).
 * Usage: tsx src/api/gen-crds-cli.ts [outDir ...]
 */
function main(): void {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const outDirs = process.argv.length > 2 ? process.argv.slice(2).map((d) => resolve(d)) : [join(repoRoot, 'crds'), join(repoRoot, 'charts', 'visionq', 'crds')];
  for (const outDir of outDirs) {
    mkdirSync(outDir, { recursive: true });
    for (const crd of generateCrds()) {
      const file = join(outDir, crdFileName(crd));
      writeFileSync(file, renderCrdYaml(crd));
      console.log(`wrote ${file}`);
    }
  }
}

main();
