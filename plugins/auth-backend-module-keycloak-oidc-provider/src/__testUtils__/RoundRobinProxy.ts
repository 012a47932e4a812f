import { createServer, request, type Server } from 'node:http';

/**
 * A minimal load balancer: each request goes to the next upstream in turn,
 * like a Kubernetes Service in front of Backstage replicas without sticky
 * sessions.
 */
export class RoundRobinProxy {
  #next = 0;
  /** Every proxied request: which upstream got it, method and path */
  readonly requests: { upstream: string; method?: string; path: string }[] = [];
  readonly #server: Server;

  private constructor(private readonly upstreams: string[]) {
    this.#server = createServer((req, res) => {
      const target = new URL(
        req.url ?? '/',
        this.upstreams[this.#next++ % this.upstreams.length],
      );
      this.requests.push({
        upstream: target.origin,
        method: req.method,
        path: target.pathname,
      });
      const upstream = request(
        target,
        { method: req.method, headers: req.headers },
        upstreamRes => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      upstream.on('error', error => {
        res
          .writeHead(502, { 'content-type': 'text/plain' })
          .end(`proxy: ${error.message}`);
      });
      req.pipe(upstream);
    });
  }

  /** The upstream of every proxied request, in order */
  get hits(): string[] {
    return this.requests.map(r => r.upstream);
  }

  static async listen(port: number, upstreams: string[]) {
    const proxy = new RoundRobinProxy(upstreams);
    await new Promise<void>(resolve =>
      proxy.#server.listen(port, '127.0.0.1', resolve),
    );
    return proxy;
  }

  close() {
    this.#server.closeAllConnections();
    return new Promise<void>(resolve => this.#server.close(() => resolve()));
  }
}
