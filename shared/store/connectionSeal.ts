import type { EnvelopeCipher, RecordLocation } from '../crypto';
import { canonicalJson, digestOf, type RecordIntegrity } from '../crypto/integrity';
import { DecryptionError, ProviderNotFoundError } from '../errors';

// A connection's envelope (secret parameters and tokens) is bound to its provider's binding key
// (a random key sealed in the provider's own envelope: shared/store/providers.ts), to its grant
// type and plain parameters, and to a version. A provider row made or changed by someone else
// cannot open it, so its refresh token never leaves for an endpoint credman was not given.

/** The provider's binding key; null for a provider written before binding began, undefined when there is no provider. */
export type ProviderKeyOf = (providerId: string) => Promise<string | null | undefined>;

interface SealedColumns {
  grantType: string;
  /** JSON of the plain parameters, as stored. */
  parameters: string;
  secrets?: string;
  sealVersion?: number;
}

export class ConnectionSealer {
  constructor(
    private readonly tableName: string,
    private readonly cipher: EnvelopeCipher,
    private readonly integrity: RecordIntegrity,
    private readonly providerKey: ProviderKeyOf,
  ) {}

  /**
   * The row's secrets. An unbound envelope is one written before binding began (or under a provider
   * that still is): accepted, and bound at the row's next secrets write; but not on a row that says
   * it was bound (a downgrade).
   */
  async open(providerId: string, connectionId: string, row: SealedColumns): Promise<Record<string, string>> {
    if (!row.secrets) return {};
    const loc = this.loc(providerId, connectionId);
    if (!this.isBound(row.secrets)) {
      if (row.sealVersion !== undefined && row.sealVersion !== null) throw this.integrity.tampered('connection', loc, 'Unprotected');
      return this.integrity.open('connection', loc, row.secrets);
    }
    const key = await this.keyOf(providerId);
    if (!key) throw this.integrity.tampered('connection', loc, 'Tampered');
    return this.integrity.openBound('connection', loc, row, (version) => bindingOf(key, row.grantType, row.parameters, version));
  }

  /** Seals `secrets` for the row's configuration: the envelope and the version to store beside it (none while the provider has no binding key). */
  async seal(providerId: string, connectionId: string, row: SealedColumns, secrets: Record<string, string>): Promise<{ secrets: string; sealVersion?: number }> {
    const loc = this.loc(providerId, connectionId);
    const key = await this.keyOf(providerId);
    if (!key) return { secrets: await this.cipher.seal(loc, secrets) };
    // Observed when read back, not here: the write may still lose its ETag race.
    const sealVersion = this.integrity.nextVersion(row.sealVersion);
    const sealed = await this.cipher.seal(loc, secrets, bindingOf(key, row.grantType, row.parameters, sealVersion));
    return { secrets: sealed, sealVersion };
  }

  /** After storage took a write of the row: its version, for rollback detection. */
  written(providerId: string, connectionId: string, version: number | undefined): void {
    this.integrity.written(this.loc(providerId, connectionId), version);
  }

  private async keyOf(providerId: string): Promise<string | null> {
    const key = await this.providerKey(providerId);
    if (key === undefined) throw new ProviderNotFoundError(providerId);
    return key;
  }

  private isBound(sealed: string): boolean {
    try {
      return this.cipher.isBound(sealed);
    } catch (err) {
      // Malformed: opening it says so, as tampering.
      if (err instanceof DecryptionError) return false;
      throw err;
    }
  }

  private loc(providerId: string, connectionId: string): RecordLocation {
    return { table: this.tableName, partitionKey: providerId, rowKey: connectionId };
  }
}

function bindingOf(providerKey: string, grantType: string, parameters: string, version: number): string {
  let plain: unknown;
  try {
    plain = JSON.parse(parameters);
  } catch {
    plain = parameters;
  }
  return canonicalJson({ provider: digestOf(providerKey), grantType, parameters: digestOf(plain), version });
}
