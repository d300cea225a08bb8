/**
 * The event keys of the jobs this agent holds, by job uid. Counted, because a redelivery of a
 * job can be claimed while the previous handling of the same uid is still settling: releasing
 * one must not take the key from the other.
 */
export class EventKeys {
  private readonly keys = new Map<string, { key: Buffer; holds: number }>();

  /** Holds `uid`'s key (base64, from its signed message) until the returned release is called. */
  hold(uid: string, keyBase64: string | undefined): () => void {
    if (!keyBase64) return () => undefined;
    const key = Buffer.from(keyBase64, 'base64');
    const entry = this.keys.get(uid) ?? { key, holds: 0 };
    // The newest message's key wins: after a signing-key rotation a redelivery carries the new one.
    entry.key = key;
    entry.holds++;
    this.keys.set(uid, entry);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--entry.holds === 0 && this.keys.get(uid) === entry) this.keys.delete(uid);
    };
  }

  get(uid: string): Buffer | undefined {
    return this.keys.get(uid)?.key;
  }

  get size(): number {
    return this.keys.size;
  }
}
