/** Public surface of the queue protocol (the controller and the agent import from here). */
export * from './subjects.js';
export * from './job-message.js';
export * from './job-events.js';
export * from './topology.js';
export * from './publisher.js';
export * from './errors.js';
export * from './ack.js';
export * from './attempt-store.js';
export * from './server-features.js';
export * from './connect.js';
export * from './replicas.js';
export * from './pull-options.js';
