import type { Readable } from 'node:stream';

export type OutputSink = (stream: 'stdout' | 'stderr', line: string) => void;

/** Default sink: the agent's own stdout/stderr, i.e. the pod log. */
export const processOutputSink: OutputSink = (stream, line) => {
  (stream === 'stdout' ? process.stdout : process.stderr).write(line + '\n');
};

/**
 * Forwards a child's output line by line with `[<job>] ` in front, so interleaved
 * output of several slots stays attributable. Partial lines are flushed at end.
 */
export function pipeWithPrefix(src: Readable, prefix: string, stream: 'stdout' | 'stderr', sink: OutputSink): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    src.setEncoding('utf8');
    src.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        sink(stream, prefix + buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      // Bound memory for output without newlines.
      if (buf.length > 64 * 1024) {
        sink(stream, prefix + buf);
        buf = '';
      }
    });
    const done = () => {
      if (buf.length > 0) sink(stream, prefix + buf);
      buf = '';
      resolve();
    };
    src.once('end', done);
    src.once('error', done);
  });
}
