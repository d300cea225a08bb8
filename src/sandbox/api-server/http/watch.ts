import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { expired } from '../errors.js';
import type { ResourceInfo } from '../resource-registry.js';
import { apiVersionOf, storageKey } from '../resource-registry.js';
import type { Matcher } from '../storage/selectors.js';
import type { KubeObject, ObjectStore, StoreEvent } from '../storage/store.js';
import { buildTable } from './table.js';

export interface WatchRequest {
  info: ResourceInfo;
  namespace?: string;
  labels: Matcher;
  fields: Matcher;
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  table: boolean;
  /** Forced by the fault switch: answer with an ERROR 410 event. */
  forceExpiredEvent?: boolean;
}

interface OpenWatch {
  key: string;
  res: ServerResponse;
  close(): void;
}

/** Serves watch streams from the store's history and live changes. */
export class WatchHub {
  private readonly open = new Set<OpenWatch>();

  constructor(
    private readonly store: ObjectStore,
    private readonly present: (info: ResourceInfo, obj: KubeObject) => KubeObject,
    private readonly bookmarkIntervalMs: number,
    private readonly clock: () => Date,
    private readonly logger?: Logger,
  ) {}

  count(): number {
    return this.open.size;
  }

  /** Ends every open stream (the fault switch and shutdown). */
  dropAll(): number {
    const n = this.open.size;
    for (const w of [...this.open]) w.close();
    return n;
  }

  /** Ends the streams of one storage key (its CRD was deleted), as the real server does. */
  closeKey(key: string): void {
    for (const w of [...this.open]) if (w.key === key) w.close();
  }

  /**
   * Checks a watch can start; throws 410 when the requested resourceVersion has been compacted.
   * Returns the history to replay first.
   */
  history(req: WatchRequest): StoreEvent[] | 'initial' {
    const rv = req.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') return 'initial';
    const n = Number(rv);
    if (!Number.isInteger(n) || n < 0) throw expired(`invalid resource version: ${rv}`);
    const events = this.store.since(n);
    if (!events) throw expired(`too old resource version: ${rv} (${this.store.compactedThrough()})`);
    return events;
  }

  serve(req: WatchRequest, res: ServerResponse, replay: StoreEvent[] | 'initial'): void {
    const key = storageKey(req.info.group, req.info.plural);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const write = (type: string, object: KubeObject): void => {
      const payload = req.table && type !== 'ERROR' && type !== 'BOOKMARK' ? buildTable(req.info, [object], this.clock(), { resourceVersion: object.metadata?.resourceVersion }) : object;
      res.write(`${JSON.stringify({ type, object: payload })}\n`);
    };
    if (req.forceExpiredEvent) {
      write('ERROR', expired(`too old resource version: ${req.resourceVersion ?? '0'} (${this.store.compactedThrough()})`).toStatus());
      res.end();
      return;
    }
    const matches = (o: KubeObject | undefined): boolean =>
      !!o && (req.namespace === undefined || o.metadata.namespace === req.namespace) && req.labels(o) && req.fields(o);
    const deliver = (e: StoreEvent): void => {
      if (e.key !== key) return;
      const now = matches(e.object);
      const before = e.prev ? matches(e.prev) : false;
      if (e.type === 'ADDED') {
        if (now) write('ADDED', this.present(req.info, structuredClone(e.object)));
      } else if (e.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', this.present(req.info, structuredClone(e.object)));
        else if (now) write('ADDED', this.present(req.info, structuredClone(e.object)));
        else if (before) write('DELETED', this.present(req.info, structuredClone(e.object)));
      } else if (now || before) write('DELETED', this.present(req.info, structuredClone(e.object)));
    };
    if (replay === 'initial') {
      for (const o of this.store.list(key, req.info.namespaced ? req.namespace : undefined)) if (matches(o)) write('ADDED', this.present(req.info, o));
    } else {
      for (const e of replay) deliver(e);
    }
    const unsubscribe = this.store.subscribe(deliver);
    const timers: NodeJS.Timeout[] = [];
    const w: OpenWatch = {
      key,
      res,
      close: () => {
        if (!this.open.delete(w)) return;
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        res.end();
      },
    };
    this.open.add(w);
    if (req.allowBookmarks) {
      const t = setInterval(() => {
        write('BOOKMARK', {
          kind: req.info.kind,
          apiVersion: apiVersionOf(req.info),
          metadata: { resourceVersion: String(this.store.currentRv()) },
        });
      }, this.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) {
      const t = setTimeout(() => w.close(), req.timeoutSeconds * 1000);
      t.unref();
      timers.push(t);
    }
    res.on('close', () => w.close());
    res.on('error', (err) => {
      this.logger?.debug({ err }, 'watch stream error');
      w.close();
    });
  }
}
