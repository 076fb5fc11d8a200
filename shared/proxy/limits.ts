// The token proxy's limits (docs/api.md, "The token proxy"), declared once.

export interface ProxyLimits {
  /** A request body larger than this is refused (413): the Functions host's own request limit. */
  requestBytes: number;
  /** A request body of at most this many bytes, with a Content-Length, is held so it can be sent again after a 401. */
  replayBytes: number;
  /** An upstream answer larger than this is refused (declared) or broken off (streamed). */
  responseBytes: number;
  /** The upstream must start answering (status and headers) within this of receiving the whole request. */
  answerSeconds: number;
  /** The whole exchange, body included, ends within this: under the 230 s after which Azure's front end drops an idle request. */
  totalSeconds: number;
}

export const PROXY_LIMITS: Readonly<ProxyLimits> = Object.freeze({
  requestBytes: 100 * 1024 * 1024,
  replayBytes: 1024 * 1024,
  responseBytes: 1024 * 1024 * 1024,
  answerSeconds: 60,
  totalSeconds: 220,
});
