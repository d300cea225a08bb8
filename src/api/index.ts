/** Public API of src/api: schemas, types, validation, condition helpers, CRD generation. */
export * from './constants.js';
export * from './common-schemas.js';
export * from './vision-job.js';
export * from './worker-pool.js';
export * from './conditions.js';
export * from './job-settings.js';
export * from './validate.js';
export * from './crd-gen.js';
