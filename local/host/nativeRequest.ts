import { RawHeaders } from './rawHeaders';

// The undici Request that @azure/functions' HttpRequest wraps, made lazily: url, method and
// headers are what nearly every handler reads, and building a full Request (body stream, abort
// signal) per call costs more than a warm token request itself. Anything else materialises the
// real Request, so handlers see the same behaviour either way.

export class LazyNativeRequest {
  private real?: Request;
  private headerObject?: Headers;

  constructor(
    readonly url: string,
    readonly method: string,
    private readonly rawHeaders: Record<string, string>,
    private readonly bytes: Buffer | undefined,
  ) {}

  get headers(): Headers {
    return (this.headerObject ??= new RawHeaders(this.rawHeaders));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.bytes ?? Buffer.alloc(0);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return this.bytes ? this.bytes.toString('utf8') : '';
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.materialise().body;
  }

  get bodyUsed(): boolean {
    return this.real?.bodyUsed ?? false;
  }

  blob(): Promise<Blob> {
    return this.materialise().blob();
  }

  formData(): Promise<FormData> {
    return this.materialise().formData();
  }

  clone(): Request {
    return this.materialise().clone();
  }

  private materialise(): Request {
    const hasBody = this.bytes && this.method !== 'GET' && this.method !== 'HEAD';
    return (this.real ??= new Request(this.url, { method: this.method, headers: this.rawHeaders, ...(hasBody ? { body: new Uint8Array(this.bytes) } : {}) }));
  }
}
