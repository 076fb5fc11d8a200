import type { TableClient } from '@azure/data-tables';
import type { RecordLocation } from '../crypto';
import type { RecordIntegrity } from '../crypto/integrity';
import { TamperedRecordError } from '../errors';
import { deleteCounted, deletePartition, readEntity, upsertCounted, type Precondition } from './countedPartition';
import { listPartition, type Page } from './paging';

// A connection's policies form one partition, "<providerId>:<connectionId>" (":" is not an
// identifier character, so keys never collide): authorising a caller reads at most 100 rows of one
// partition, and deleting a connection drops its partition in one or two batches.
export const MAX_POLICIES_PER_CONNECTION = 100;

export type PolicySubject = { kind: 'entra'; tenantId: string; objectId: string; appIds?: string[] } | { kind: 'issuer'; issuer: string; subject: string };

export interface AccessPolicyRecord {
  providerId: string;
  connectionId: string;
  id: string;
  subject: PolicySubject;
  createdOn: string;
  changedOn: string;
  etag: string;
}

interface PolicyEntity {
  kind: 'entra' | 'issuer';
  tenantId?: string;
  objectId?: string;
  appIds?: string;
  issuer?: string;
  subject?: string;
  createdOn: string;
  changedOn: string;
  /**
   * The `createdOn` of the connection the policy was written for, under the MAC: a copy restored
   * into a connection deleted and created again under the same id names the earlier one.
   */
  connectionCreatedOn?: string;
  /** Version and MAC (shared/crypto/integrity.ts): a row written outside credman grants nothing. */
  sealVersion?: number;
  mac?: string;
}

const RECORD = 'access policy';
export const policyPartition = (providerId: string, connectionId: string): string => `${providerId}:${connectionId}`;

export class AccessPolicyStore {
  constructor(
    private readonly table: TableClient,
    private readonly integrity: RecordIntegrity,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The policy; a row that fails its integrity check, or was written for an earlier connection of
   * this id than the one created at `connectionCreatedOn`, is a TamperedRecordError.
   */
  async get(providerId: string, connectionId: string, id: string, connectionCreatedOn?: string): Promise<AccessPolicyRecord | undefined> {
    const pk = policyPartition(providerId, connectionId);
    const e = await readEntity<PolicyEntity>(this.table, pk, id);
    if (!e) return undefined;
    await this.integrity.verify(RECORD, this.loc(pk, id), e);
    this.requireSameConnection(pk, id, e, connectionCreatedOn);
    return toRecord(providerId, connectionId, id, e, e.etag);
  }

  /** A page of the policies that pass their integrity check and belong to this connection; the others are reported and left out (they grant nothing). */
  async list(providerId: string, connectionId: string, top: number, skipToken?: string, connectionCreatedOn?: string): Promise<Page<AccessPolicyRecord>> {
    const pk = policyPartition(providerId, connectionId);
    const page = await listPartition<PolicyEntity>(this.table, pk, top, skipToken);
    const verified = await this.integrity.verified(RECORD, (e) => this.loc(pk, e.rowKey as string), page.items);
    const good = verified.filter((e) => {
      try {
        this.requireSameConnection(pk, e.rowKey as string, e, connectionCreatedOn);
        return true;
      } catch (err) {
        if (err instanceof TamperedRecordError) return false;
        throw err;
      }
    });
    return {
      items: good.map((e) => toRecord(providerId, connectionId, e.rowKey as string, e, e.etag)),
      skipToken: page.skipToken,
    };
  }

  async put(
    providerId: string,
    connectionId: string,
    id: string,
    subject: PolicySubject,
    connectionCreatedOn: string,
    pre: Precondition = {},
  ): Promise<{ created: boolean; record: AccessPolicyRecord }> {
    const now = this.now().toISOString();
    const pk = policyPartition(providerId, connectionId);
    const r = await upsertCounted<PolicyEntity>(
      this.table,
      pk,
      id,
      (existing) =>
        this.integrity.protect(
          this.loc(pk, id),
          { partitionKey: pk, rowKey: id, ...toEntity(subject), connectionCreatedOn, createdOn: existing?.createdOn ?? now, changedOn: now },
          existing?.sealVersion,
        ),
      {
        limit: MAX_POLICIES_PER_CONNECTION,
        limitMessage: `A connection holds at most ${MAX_POLICIES_PER_CONNECTION} access policies.`,
        ...pre,
      },
    );
    this.integrity.written(this.loc(pk, id), r.entity.sealVersion);
    return { created: r.created, record: toRecord(providerId, connectionId, id, r.entity, r.etag) };
  }

  async delete(providerId: string, connectionId: string, id: string, ifMatch?: string): Promise<boolean> {
    const pk = policyPartition(providerId, connectionId);
    const deleted = await deleteCounted(this.table, pk, id, ifMatch);
    if (deleted) this.integrity.deleted(this.loc(pk, id));
    return deleted;
  }

  /** As `delete` for each: a copy restored later is refused by this instance as a rollback. */
  deleteAll(providerId: string, connectionId: string): Promise<number> {
    const pk = policyPartition(providerId, connectionId);
    return deletePartition(this.table, pk, (rowKey) => this.integrity.deleted(this.loc(pk, rowKey)));
  }

  /** A policy written for another life of the connection (rows from before the column name none) is a rollback. */
  private requireSameConnection(pk: string, id: string, e: PolicyEntity, connectionCreatedOn: string | undefined): void {
    if (connectionCreatedOn !== undefined && e.connectionCreatedOn !== undefined && e.connectionCreatedOn !== connectionCreatedOn) {
      throw this.integrity.tampered(RECORD, this.loc(pk, id), 'Rollback');
    }
  }

  private loc(partitionKey: string, rowKey: string): RecordLocation {
    return { table: this.table.tableName, partitionKey, rowKey };
  }
}

function toEntity(s: PolicySubject): Omit<PolicyEntity, 'createdOn' | 'changedOn'> {
  return s.kind === 'entra'
    ? { kind: 'entra', tenantId: s.tenantId, objectId: s.objectId, ...(s.appIds ? { appIds: JSON.stringify(s.appIds) } : {}) }
    : { kind: 'issuer', issuer: s.issuer, subject: s.subject };
}

function toRecord(providerId: string, connectionId: string, id: string, e: PolicyEntity, etag: string): AccessPolicyRecord {
  const subject: PolicySubject =
    e.kind === 'entra'
      ? {
          kind: 'entra',
          tenantId: e.tenantId as string,
          objectId: e.objectId as string,
          ...(e.appIds ? { appIds: JSON.parse(e.appIds) as string[] } : {}),
        }
      : { kind: 'issuer', issuer: e.issuer as string, subject: e.subject as string };
  return { providerId, connectionId, id, subject, createdOn: e.createdOn, changedOn: e.changedOn, etag };
}
