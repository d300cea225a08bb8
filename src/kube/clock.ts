/**
 * The clock lives in src/lib (a leaf the agent may import too); this re-export keeps the
 * controller's deep imports of '../kube/clock.js' working until they point at src/lib.
 */
export * from '../lib/clock.js';
