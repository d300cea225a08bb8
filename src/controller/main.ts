/**
 * Stand-alone entry of the controller (`node --import tsx src/controller/main.ts ...` or the
 * built dist/controller/main.js): `visionq controller` without the CLI dispatcher.
 */
import { controllerCommand } from './index.js';

controllerCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`visionq controller: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
