/**
 * The controller's public entry: what src/cli and src/sandbox (and the e2e tests) use. Everything
 * else under src/controller is internal; the layering test keeps src/sandbox to this file.
 */
export { startController, type ControllerHandle, type LeaderElectionSettings, type StartControllerOptions } from './manager/manager.js';
export { controllerCommand } from './manager/controller-command.js';
