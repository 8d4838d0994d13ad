/**
 * Plain node:http requests for the dashboard tests: unlike fetch, they can send any Host and
 * Origin header, which is what the DNS-rebinding and cross-site checks are about.
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

export function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, json: <T>() => JSON.parse(body) as T });
      });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface SseStream {
  /** the next `count` events of this name, in order */
  next(count?: number): Promise<unknown[]>;
  /** resolves when the server ended the stream */
  ended: Promise<void>;
  close(): void;
}

/** Opens an event stream and parses `event:`/`data:` frames as they come. */
export function openEventStream(url: string, eventName = 'snapshot', headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    const waiters: Array<() => void> = [];
    let buffer = '';
    let endResolve: () => void = () => undefined;
    const ended = new Promise<void>((done) => (endResolve = done));
    const req = http.get(url, { headers }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`event stream answered ${response.statusCode ?? '?'}`));
        response.resume();
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = frame.split('\n');
          const name = lines.find((line) => line.startsWith('event: '))?.slice(7);
          const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
          if (name === eventName) {
            events.push(JSON.parse(data));
            for (const wake of waiters.splice(0)) wake();
          }
        }
      });
      response.on('end', endResolve);
      response.on('close', endResolve);
      resolve({
        ended,
        close: () => req.destroy(),
        next: async (count = 1) => {
          while (events.length < count) await new Promise<void>((wake) => waiters.push(wake));
          return events.splice(0, count);
        },
      });
    });
    req.on('error', (error) => {
      endResolve();
      reject(error);
    });
  });
}
