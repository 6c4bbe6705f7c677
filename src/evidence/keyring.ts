import type { KeyRing } from './dsse.ts';
import type { PublicKey } from './keys.ts';

/** An in-memory set of trusted public keys, looked up by key id (hex sha256 of SPKI DER). */
export class TrustedKeys implements KeyRing {
  readonly #byId = new Map<string, PublicKey>();

  constructor(keys: Iterable<PublicKey> = []) {
    for (const k of keys) this.#byId.set(k.keyId, k);
  }

  byKeyId(keyId: string): PublicKey | undefined {
    return this.#byId.get(keyId);
  }

  all(): readonly PublicKey[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }
}
