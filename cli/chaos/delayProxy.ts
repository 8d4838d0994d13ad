/**
 * A TCP proxy on loopback that can hold every chunk for a while, in both directions: the
 * network-delay fault. The workers reach Redis and PostgreSQL through one each, so a slow
 * network hits them while the chaos run's own checks talk to the servers directly. Order is kept:
 * a chunk never overtakes the one before it. (Kafka cannot sit behind it: clients connect to the
 * address the broker advertises.)
 */
import net from 'node:net';
import { LOOPBACK, findFreePort } from '../../infra/ports';

export class DelayProxy {
  /** ms each chunk is held; 0 passes chunks straight through */
  delayMs = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(target: { host: string; port: number }): Promise<DelayProxy> {
    const port = await findFreePort();
    const server = net.createServer();
    const proxy = new DelayProxy(server, port);
    server.on('connection', (client: net.Socket) => proxy.connect(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, LOOPBACK, () => resolve());
    });
    return proxy;
  }

  /** `url` with its host and port replaced by this proxy's. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = LOOPBACK;
    parsed.port = String(this.port);
    return parsed.toString();
  }

  private connect(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      // one side gone (a server crash, a terminated backend): the other goes too, as on a real network
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    this.relay(client, upstream);
    this.relay(upstream, client);
  }

  private relay(from: net.Socket, to: net.Socket): void {
    let lastAt = 0;
    from.on('data', (chunk: Buffer) => {
      const now = Date.now();
      const at = Math.max(now + this.delayMs, lastAt);
      lastAt = at;
      if (at <= now) to.write(chunk);
      else setTimeout(() => to.write(chunk), at - now);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
