import { RawHeaders } from '../../local/host/rawHeaders';

// The local host's Headers must answer as undici's Headers does for what handlers use.

const raw = () => ({ authorization: 'Bearer abc', 'content-type': 'application/json', 'x-b': '1, 2', accept: '*/*' });

describe('RawHeaders', () => {
  it('reads like Headers', () => {
    const ours = new RawHeaders(raw());
    const theirs = new Headers(raw());
    for (const name of ['Authorization', 'content-type', 'X-B', 'missing']) {
      expect(ours.get(name)).toBe(theirs.get(name));
      expect(ours.has(name)).toBe(theirs.has(name));
    }
    expect([...ours]).toEqual([...theirs]);
    expect([...ours.keys()]).toEqual([...theirs.keys()]);
    const seen: string[] = [];
    ours.forEach((v, k) => seen.push(`${k}=${v}`));
    expect(seen).toEqual([...theirs].map(([k, v]) => `${k}=${v}`));
  });

  it('writes like Headers', () => {
    const ours = new RawHeaders(raw());
    const theirs = new Headers(raw());
    for (const h of [ours, theirs]) {
      h.set('X-New', 'v');
      h.append('x-b', '3');
      h.delete('Accept');
    }
    expect([...ours]).toEqual([...theirs]);
  });
});
