import type { EnvelopeCipher, RecordLocation } from '../crypto';
import { canonicalJson, digestOf, type RecordIntegrity } from '../crypto/integrity';
import { ConnectionStateError, DecryptionError, ProviderNotFoundError } from '../errors';

// A connection's envelope (secret parameters and tokens) is bound to its provider's binding key
// (a random key sealed in the provider's own envelope: shared/store/providers.ts), to its grant
// type and plain parameters, and to a version. A provider row made or changed by someone else
// cannot open it, so its refresh token never leaves for an endpoint credman was not given.
// The administrator's agentTokenAccess switch (docs/mcp.md, "get_token and agentTokenAccess") is
// in the binding too, and a row with it on always has a bound envelope: a storage writer cannot
// turn it on.

/** The provider's binding key; null for a provider written before binding began, undefined when there is no provider. */
export type ProviderKeyOf = (providerId: string) => Promise<string | null | undefined>;

interface SealedColumns {
  grantType: string;
  /** JSON of the plain parameters, as stored. */
  parameters: string;
  /** Whether MCP's get_token may return the raw access token: on only when exactly `true`. */
  agentTokenAccess?: boolean;
  secrets?: string;
  sealVersion?: number;
}

/** The switch as a row states it: anything but `true` (absent, "true", 1) is off. */
export const agentTokenAccessOf = (row: { agentTokenAccess?: unknown }): boolean => row.agentTokenAccess === true;

/** Sealed beside the secrets while the switch is on, so the envelope is never empty (a bound one cannot be). */
const ACCESS_MARK = '!agentTokenAccess';

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
    const loc = this.loc(providerId, connectionId);
    // credman writes the switch on only beside a bound envelope (seal): without one, it was not credman.
    const access = agentTokenAccessOf(row);
    if (!row.secrets) {
      if (access) throw this.integrity.tampered('connection', loc, 'Unprotected');
      return {};
    }
    if (!this.isBound(row.secrets)) {
      if (access || (row.sealVersion !== undefined && row.sealVersion !== null)) throw this.integrity.tampered('connection', loc, 'Unprotected');
      return this.integrity.open('connection', loc, row.secrets);
    }
    const key = await this.keyOf(providerId);
    if (!key) throw this.integrity.tampered('connection', loc, 'Tampered');
    const { [ACCESS_MARK]: _mark, ...secrets } = await this.integrity.openBound('connection', loc, row, (version) => bindingOf(key, row, version));
    return secrets;
  }

  /**
   * Seals `secrets` for the row's configuration: the envelope and the version to store beside it
   * (no version while the provider has no binding key). Nothing when there is nothing to seal: no
   * secrets, and the switch off.
   */
  async seal(providerId: string, connectionId: string, row: SealedColumns, secrets: Record<string, string>): Promise<{ secrets?: string; sealVersion?: number }> {
    const access = agentTokenAccessOf(row);
    if (!access && Object.keys(secrets).length === 0) return {};
    const loc = this.loc(providerId, connectionId);
    const key = await this.keyOf(providerId);
    if (!key) {
      // The switch needs a binding to be protected by; such a provider gets one when it is written again.
      if (access)
        throw new ConnectionStateError('ProviderMisconfigured', `Provider '${providerId}' was stored before its connections were sealed: PUT the provider again, then turn agentTokenAccess on.`);
      return { secrets: await this.cipher.seal(loc, secrets) };
    }
    // Observed when read back, not here: the write may still lose its ETag race.
    const sealVersion = this.integrity.nextVersion(row.sealVersion);
    const sealed = await this.cipher.seal(loc, access ? { ...secrets, [ACCESS_MARK]: 'on' } : secrets, bindingOf(key, row, sealVersion));
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

function bindingOf(providerKey: string, row: SealedColumns, version: number): string {
  const { grantType, parameters } = row;
  let plain: unknown;
  try {
    plain = JSON.parse(parameters);
  } catch {
    plain = parameters;
  }
  // Off, the binding is as before the switch existed: rows written then still open.
  return canonicalJson({ provider: digestOf(providerKey), grantType, parameters: digestOf(plain), ...(agentTokenAccessOf(row) ? { agentTokenAccess: true } : {}), version });
}
