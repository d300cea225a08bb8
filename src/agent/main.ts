/**
 * Stand-alone entry of the worker agent (`node --import tsx src/agent/main.ts ...` or
 * the built dist/src/agent/main.js): `visionq agent` without the CLI dispatcher.
 */
import { agentCommand } from './agent-command.js';

agentCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`visionq agent: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
