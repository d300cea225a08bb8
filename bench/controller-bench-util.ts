/** Helpers of the controller benchmarks: percentiles and result files. */
import { percentile } from './report-util.js';

export { REPO, percentile, writeResult } from './report-util.js';

export function stats(samples: number[]): { median: number; p99: number; min: number; max: number; n: number } {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    median: r(percentile(samples, 50)),
    p99: r(percentile(samples, 99)),
    min: r(Math.min(...samples)),
    max: r(Math.max(...samples)),
    n: samples.length,
  };
}

