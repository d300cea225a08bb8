/**
 * Job messages are signed by the controller (Ed25519, node:crypto) and verified by agents
 * before anything runs: whoever can publish on the jobs subjects (an algorithm holding its
 * agent's NATS connection, say) cannot make agents run a job of its own. The signature covers
 * the exact payload bytes, which name the job's uid, namespace and pool; the agent also checks
 * that those match the pool it serves, so a signed job replayed onto another subject is
 * refused too. Public keys are named by a key id (the first 16 hex digits of the SHA-256 of
 * the SPKI DER) so agents can accept the current and the previous key during a rotation.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { headers, type MsgHdrs } from '@nats-io/transport-node';

export const SIGNATURE_HEADER = 'Visionq-Signature';
export const KEY_ID_HEADER = 'Visionq-Key-Id';
const EVENT_KEY_CACHE = 10_000;

/** A key that is not Ed25519, or text that is no key. */
export class JobKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobKeyError';
  }
}

function keyId(pub: KeyObject): string {
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

function ensureEd25519(k: KeyObject, what: string): KeyObject {
  if (k.asymmetricKeyType !== 'ed25519') throw new JobKeyError(`${what} is a ${k.asymmetricKeyType ?? k.type} key; job signing needs Ed25519`);
  return k;
}

/** The controller's signing key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes). */
export class JobSigner {
  readonly keyId: string;
  /** The public key as agents take it (`--job-public-keys`): base64 of the SPKI DER. */
  readonly publicKey: string;
  private readonly key: KeyObject;
  private readonly eventMaster: Buffer;
  private readonly eventKeys = new Map<string, Buffer>();

  constructor(privateKeyPem: string | Buffer) {
    let key: KeyObject;
    try {
      key = createPrivateKey(privateKeyPem);
    } catch (err) {
      throw new JobKeyError('the job signing key is not a PEM private key', { cause: err });
    }
    this.key = ensureEd25519(key, 'the job signing key');
    const pub = createPublicKey(this.key);
    this.keyId = keyId(pub);
    this.publicKey = pub.export({ type: 'spki', format: 'der' }).toString('base64');
    // Event keys derive from the signing key, so every controller replica (and the next leader)
    // recomputes them without storing a secret per job; a key rotation keeps the old key as a
    // previous signing key until its jobs are done (see EventAuthenticator).
    this.eventMaster = createHmac('sha256', 'visionq/event-mac/v1').update(this.key.export({ type: 'pkcs8', format: 'der' })).digest();
  }

  /** The key an agent MACs the events of job `uid` with (sent inside the signed message). */
  eventKey(uid: string): Buffer {
    // Every event of a job is checked against it: keep the recent ones (insertion order = age).
    let key = this.eventKeys.get(uid);
    if (!key) {
      key = createHmac('sha256', this.eventMaster).update(uid).digest();
      this.eventKeys.set(uid, key);
      if (this.eventKeys.size > EVENT_KEY_CACHE) this.eventKeys.delete(this.eventKeys.keys().next().value!);
    }
    return key;
  }

  /** A fresh key pair (the sandbox's default; production keys come from a Secret). */
  static generate(): { signer: JobSigner; privateKeyPem: string } {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return { signer: new JobSigner(pem), privateKeyPem: pem };
  }

  headers(data: Uint8Array): MsgHdrs {
    const h = headers();
    h.set(SIGNATURE_HEADER, sign(null, data, this.key).toString('base64'));
    h.set(KEY_ID_HEADER, this.keyId);
    return h;
  }
}

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; reason: string };

/** The agent's side: the public keys it accepts (current and, during a rotation, previous). */
export class JobVerifier {
  private readonly keys = new Map<string, KeyObject>();

  /** Each key: base64 SPKI DER (what JobSigner.publicKey gives) or a PEM public key. */
  constructor(publicKeys: readonly string[]) {
    for (const text of publicKeys) {
      let k: KeyObject;
      try {
        k = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
      } catch (err) {
        throw new JobKeyError(`a job public key is neither base64 SPKI DER nor PEM: ${text.slice(0, 16)}...`, { cause: err });
      }
      ensureEd25519(k, 'a job public key');
      this.keys.set(keyId(k), k);
    }
    if (this.keys.size === 0) throw new JobKeyError('no job public key given');
  }

  check(data: Uint8Array, hdrs: MsgHdrs | undefined): SignatureCheck {
    const sig = hdrs?.get(SIGNATURE_HEADER) ?? '';
    if (sig === '') return { ok: false, reason: 'unsigned job message' };
    const id = hdrs?.get(KEY_ID_HEADER) ?? '';
    const key = this.keys.get(id);
    if (!key) return { ok: false, reason: `job message signed by an unknown key ${JSON.stringify(id.slice(0, 32))}` };
    let good = false;
    try {
      good = verify(null, data, key, Buffer.from(sig, 'base64'));
    } catch {
      good = false;
    }
    return good ? { ok: true, keyId: id } : { ok: false, reason: `bad signature for key ${id}` };
  }
}
