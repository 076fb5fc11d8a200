// A Fetch `Headers` over the header object Node's http server already parsed (names lowercased,
// repeated values joined), so a handler reading `request.headers.get(...)` costs a property
// lookup instead of building undici's Headers per request.

export class RawHeaders implements Headers {
  constructor(private readonly raw: Record<string, string>) {}

  get(name: string): string | null {
    return this.raw[name.toLowerCase()] ?? null;
  }

  has(name: string): boolean {
    return name.toLowerCase() in this.raw;
  }

  set(name: string, value: string): void {
    this.raw[name.toLowerCase()] = String(value);
  }

  append(name: string, value: string): void {
    const k = name.toLowerCase();
    this.raw[k] = k in this.raw ? `${this.raw[k]}, ${value}` : String(value);
  }

  delete(name: string): void {
    delete this.raw[name.toLowerCase()];
  }

  getSetCookie(): string[] {
    const v = this.raw['set-cookie'];
    return v === undefined ? [] : [v];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  *entries(): HeadersIterator<[string, string]> {
    for (const k of Object.keys(this.raw).sort()) yield [k, this.raw[k]];
  }

  *keys(): HeadersIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): HeadersIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries();
  }
}
