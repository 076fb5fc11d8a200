// oidc-provider's storage contract over plain Maps. Its own memory adapter cannot be enumerated,
// and the tests need that: `/__test/revoke` drops every grant and token at once, and run-time
// clients live in the `Client` model so that they can be replaced (static clients cannot).

const GRANTABLE = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode'];

export class MemoryStore {
  /** @type {Map<string, Map<string, { payload: Record<string, unknown>, expiresAt: number }>>} */
  #models = new Map();

  model(name) {
    let records = this.#models.get(name);
    if (!records) {
      records = new Map();
      this.#models.set(name, records);
    }
    return records;
  }

  get(name, id) {
    const records = this.model(name);
    const record = records.get(id);
    if (record && record.expiresAt <= Date.now()) {
      records.delete(id);
      return undefined;
    }
    return record?.payload;
  }

  set(name, id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    this.model(name).set(id, { payload, expiresAt });
  }

  findBy(name, predicate) {
    for (const [id] of this.model(name)) {
      const payload = this.get(name, id);
      if (payload && predicate(payload)) return payload;
    }
    return undefined;
  }

  /** Every grant and every token issued under one; client-credentials tokens have no grant and stay. */
  revokeAll() {
    for (const name of [...GRANTABLE, 'Grant']) this.model(name).clear();
  }

  revokeGrant(name, grantId) {
    const records = this.model(name);
    for (const [id, { payload }] of records) {
      if (payload.grantId === grantId) records.delete(id);
    }
  }

  /** The `adapter` option of oidc-provider: a class constructed once per model name. */
  adapter() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the returned class's methods have their own `this`
    const store = this;
    return class MemoryAdapter {
      constructor(name) {
        this.name = name;
      }

      async upsert(id, payload, expiresIn) {
        store.set(this.name, id, payload, expiresIn);
      }

      async find(id) {
        return store.get(this.name, id);
      }

      async findByUid(uid) {
        return store.findBy(this.name, (p) => p.uid === uid);
      }

      async findByUserCode(userCode) {
        return store.findBy(this.name, (p) => p.userCode === userCode);
      }

      async consume(id) {
        const payload = store.get(this.name, id);
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      }

      async destroy(id) {
        store.model(this.name).delete(id);
      }

      async revokeByGrantId(grantId) {
        store.revokeGrant(this.name, grantId);
      }
    };
  }
}
