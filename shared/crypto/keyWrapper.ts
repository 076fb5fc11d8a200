/**
 * A key-encryption key (KEK) that wraps and unwraps per-record data keys (DEKs).
 * `keyId` names the exact KEK version used, so that an envelope can always be unwrapped with
 * the version that wrapped it, while new writes use the current version.
 */
export interface WrappedKey {
  /** Versioned key identifier, e.g. https://v.vault.azure.net/keys/credman-kek/<version> or local:<version>. */
  keyId: string;
  wrapped: Buffer;
}

export interface KeyWrapper {
  /** `keyvault` or `local`, for logs and health. */
  readonly kind: string;
  wrap(dek: Buffer): Promise<WrappedKey>;
  unwrap(key: WrappedKey): Promise<Buffer>;
  /**
   * The versioned key id that `wrap` uses now, so a rewrap job can skip envelopes already on it.
   * `fresh` re-reads it from its source first (key rotation must not act on a stale version).
   */
  currentKeyId(options?: { fresh?: boolean }): Promise<string>;
  /** Cheap reachability check for GET /health. */
  check(): Promise<void>;
}
