// Process-wide counters of the costly things a request can cause, for operators and the bench:
// the local host serves them at /admin/stats (loopback only). Plain numbers, no dependencies.

export const metrics = {
  /** Data keys unwrapped by the KEK: in Azure, each one is a Key Vault call. */
  kekUnwraps: 0,
  /** Token requests answered from memory. */
  tokenCacheHits: 0,
  /** Token requests that read the connection row (decrypting it), whatever came next. */
  tokenStoreReads: 0,
  /** Point reads of a connection's grant generation: two with each load of its policies, never per warm request. */
  grantGenerationReads: 0,
  /** Callers' forceRefresh answered with a token obtained within CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS. */
  forcedRefreshesCoalesced: 0,
  /** Calls that reached an identity provider's token endpoint (each retry counts). */
  identityProviderCalls: 0,
  /** Stored rows refused because they failed their integrity check (docs/storage.md, "Tamper detection"). */
  tamperedRecords: 0,
};
