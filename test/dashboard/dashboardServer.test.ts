/**
 * The dashboard's HTTP server over real HTTP: the page, the API, the SSE feed, and who may use
 * them (localhost by default, a token when exposed, no DNS rebinding, no cross-site posts).
 */
import { networkInterfaces } from 'node:os';
import { startDashboard } from '../../dashboard/server/dashboardServer';
import type { RunningDashboard } from '../../dashboard/server/dashboardServer';
import type { DashboardSnapshot, RateHistory } from '../../dashboard/server/snapshotTypes';
import { MemorySources, sampleAlert } from './support/memorySources';
import { openEventStream, request } from './support/httpClient';

const running: RunningDashboard[] = [];

async function start(sources: MemorySources, options: { host?: string; token?: string; intervalMs?: number } = {}): Promise<RunningDashboard> {
  const dashboard = await startDashboard({ sources, intervalMs: options.intervalMs ?? 100, ...options });
  running.push(dashboard);
  return dashboard;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((dashboard) => dashboard.close()));
});

function base(dashboard: RunningDashboard): string {
  return `http://127.0.0.1:${dashboard.port}`;
}

describe('dashboard server on localhost (the default)', () => {
  it('binds to 127.0.0.1 and prints a URL without a token', async () => {
    const dashboard = await start(new MemorySources());
    expect(dashboard.host).toBe('127.0.0.1');
    expect(dashboard.token).toBeUndefined();
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
  });

  it('serves the page with its script and chart library bundled, nothing from another host', async () => {
    const dashboard = await start(new MemorySources());
    const page = await request(`${base(dashboard)}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<script src="app.js"></script>');
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const script = await request(`${base(dashboard)}/app.js`);
    expect(script.status).toBe(200);
    expect(script.body).toContain('uplot'); // uPlot's own class names, bundled in
    const style = await request(`${base(dashboard)}/app.css`);
    expect(style.body).toContain('.uplot');
  });

  it('pushes snapshots over SSE with rates derived from the stage counters', async () => {
    const sources = new MemorySources();
    sources.alertList.push(sampleAlert('a-1'));
    const dashboard = await start(sources);
    const stream = await openEventStream(`${base(dashboard)}/api/events`);
    const [first] = (await stream.next()) as DashboardSnapshot[];
    expect(first?.stages[0]).toMatchObject({ name: 'stage-a', recordsRead: 0, lagMs: 12 });
    expect(first?.alerts.map((alert) => alert.alertId)).toEqual(['a-1']);
    expect(first?.rejectedByReason).toEqual({ bad_json: 2 });
    sources.recordsRead = 500;
    // the rate of the first snapshot that saw the new counter is 500 records over the time between two ticks
    let withRate: DashboardSnapshot | undefined;
    while (!withRate) {
      const [snapshot] = (await stream.next()) as DashboardSnapshot[];
      if (snapshot?.stages[0]?.recordsRead === 500) withRate = snapshot;
    }
    expect(withRate.stages[0]?.ratePerSec).toBeGreaterThan(0);
    stream.close();
    const history = (await request(`${base(dashboard)}/api/history`)).json<RateHistory>();
    expect(history.rates['stage-a']?.length).toBe(history.at.length);
    expect(history.rates['stage-a']?.some((rate) => rate !== null && rate > 0)).toBe(true);
  });

  it('acknowledges and clears alerts through POST, and says 404 for an unknown one', async () => {
    const sources = new MemorySources();
    sources.alertList.push(sampleAlert('a-1'));
    const dashboard = await start(sources);
    const ack = await request(`${base(dashboard)}/api/alerts/a-1/ack`, { method: 'POST', body: '{"by":"ops"}', headers: { 'content-type': 'application/json' } });
    expect(ack.status).toBe(200);
    expect(ack.json<{ state: string }>().state).toBe('acknowledged');
    const clear = await request(`${base(dashboard)}/api/alerts/a-1/clear`, { method: 'POST' });
    expect(clear.json<{ state: string }>().state).toBe('cleared');
    expect((await request(`${base(dashboard)}/api/alerts`)).json()).toEqual([]);
    const unknown = await request(`${base(dashboard)}/api/alerts/nope/ack`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(unknown.json<{ error: string }>().error).toContain('nope');
  });

  it('answers bad input with 400/405 naming the problem, never a crash', async () => {
    const dashboard = await start(new MemorySources());
    const cases: Array<[string, { method?: string; body?: string }, number, string]> = [
      ['/api/devices/dev-1/windows?from=abc', {}, 400, 'from must be an integer'],
      ['/api/devices/dev-1/windows?from=2000&to=1000', {}, 400, 'is after to'],
      ['/api/devices/dev-1/windows?from=0&to=999999999999', {}, 400, 'spans more than'],
      ['/api/devices?limit=0', {}, 400, 'limit must be an integer in 1..5000'],
      ['/api/devices/%E0%A4%A/latest', {}, 400, 'malformed path segment'],
      ['/api/alerts/a-1/ack', { method: 'POST', body: '{not json' }, 400, 'not JSON'],
      ['/api/alerts/a-1/ack', { method: 'POST', body: '[1]' }, 400, 'must be a JSON object'],
      ['/api/dead-letters/replay', { method: 'POST', body: '{}' }, 400, 'body.id must be a non-empty string'],
      ['/api/dead-letters/replay', { method: 'POST', body: JSON.stringify({ id: 'x'.repeat(2000) }) }, 400, 'at most 1024'],
      ['/api/dead-letters/replay', { method: 'POST', body: 'x'.repeat(70 * 1024) }, 413, 'over 65536 bytes'],
      ['/api/alerts', { method: 'POST' }, 405, 'POST is not allowed'],
      ['/api/nothing', {}, 404, 'no API route'],
      ['/api/devices/dev-1/latest', {}, 404, 'no readings of device "dev-1"'],
    ];
    for (const [path, options, status, message] of cases) {
      const answer = await request(`${base(dashboard)}${path}`, options);
      expect({ path, status: answer.status, error: answer.json<{ error: string }>().error }).toEqual({ path, status, error: expect.stringContaining(message) });
    }
    // and the server still answers
    expect((await request(`${base(dashboard)}/api/pipeline`)).status).toBe(200);
  });

  it('passes window ranges through to the sources', async () => {
    const sources = new MemorySources();
    const dashboard = await start(sources);
    expect((await request(`${base(dashboard)}/api/devices/dev%2F1/windows?from=1000&to=2000`)).status).toBe(200);
    expect(sources.windowCalls).toEqual([{ deviceId: 'dev/1', from: 1000, to: 2000 }]);
  });

  it('keeps the feed going when a source fails, naming the failure in the snapshot', async () => {
    const sources = new MemorySources();
    sources.failAlerts = 'alerts table is gone';
    const dashboard = await start(sources);
    const snapshot = (await request(`${base(dashboard)}/api/snapshot`)).json<DashboardSnapshot>();
    expect(snapshot.problems).toEqual({ alerts: 'alerts table is gone' });
    expect(snapshot.stages.map((stage) => stage.name)).toEqual(['stage-a']);
  });

  it('refuses a Host that is not a loopback name (DNS rebinding) and cross-origin requests', async () => {
    const sources = new MemorySources();
    sources.alertList.push(sampleAlert('a-1'));
    const dashboard = await start(sources);
    const rebound = await request(`${base(dashboard)}/api/alerts`, { headers: { host: `evil.example:${dashboard.port}` } });
    expect(rebound.status).toBe(403);
    const crossSite = await request(`${base(dashboard)}/api/alerts/a-1/ack`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(crossSite.status).toBe(403);
    const opaque = await request(`${base(dashboard)}/api/alerts/a-1/ack`, { method: 'POST', headers: { origin: 'null' } });
    expect(opaque.status).toBe(403);
    expect(sources.alertList[0]?.state).toBe('open');
    const sameOrigin = await request(`${base(dashboard)}/api/alerts/a-1/ack`, { method: 'POST', headers: { origin: base(dashboard) } });
    expect(sameOrigin.status).toBe(200);
  });

  it('closes SSE streams and the sources on close', async () => {
    const sources = new MemorySources();
    const dashboard = await start(sources);
    const stream = await openEventStream(`${base(dashboard)}/api/events`);
    await stream.next();
    await dashboard.close();
    await stream.ended;
    expect(sources.closed).toBe(true);
  });
});

describe('dashboard server exposed beyond localhost', () => {
  it('generates a token when none is given and requires it on every API and SSE request', async () => {
    const dashboard = await start(new MemorySources(), { host: '0.0.0.0' });
    expect(dashboard.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/?token=${dashboard.token}`);
    const withoutToken = await request(`${base(dashboard)}/api/pipeline`);
    expect(withoutToken.status).toBe(401);
    expect((await request(`${base(dashboard)}/api/pipeline`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    expect((await request(`${base(dashboard)}/api/pipeline`, { headers: { authorization: `Bearer ${dashboard.token ?? ''}` } })).status).toBe(200);
    expect((await request(`${base(dashboard)}/api/pipeline?token=${dashboard.token ?? ''}`)).status).toBe(200);
    await expect(openEventStream(`${base(dashboard)}/api/events`)).rejects.toThrow('answered 401');
    const stream = await openEventStream(`${base(dashboard)}/api/events?token=${dashboard.token ?? ''}`);
    expect(await stream.next()).toHaveLength(1);
    stream.close();
    // the page itself holds no data and loads without the token (it reads the token from its own URL)
    expect((await request(`${base(dashboard)}/`)).status).toBe(200);
  });

  it('takes a given token, reachable on the machine\'s other addresses', async () => {
    const token = 'a-token-given-by-the-operator';
    const dashboard = await start(new MemorySources(), { host: '0.0.0.0', token });
    expect(dashboard.token).toBe(token);
    const external = Object.values(networkInterfaces()).flat().find((address) => address?.family === 'IPv4' && !address.internal);
    const host = external?.address ?? '127.0.0.1';
    expect((await request(`http://${host}:${dashboard.port}/api/pipeline`)).status).toBe(401);
    expect((await request(`http://${host}:${dashboard.port}/api/pipeline`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('requires the token on localhost too when one is set', async () => {
    const dashboard = await start(new MemorySources(), { token: 'local-but-still-a-token' });
    expect((await request(`${base(dashboard)}/api/pipeline`)).status).toBe(401);
    expect(dashboard.url).toContain('?token=local-but-still-a-token');
  });

  it('refuses a short token before it listens', async () => {
    await expect(startDashboard({ sources: new MemorySources(), host: '0.0.0.0', token: 'short' })).rejects.toThrow('dashboard.token: must be at least 16 characters, got 5');
  });

  it('says which port is taken', async () => {
    const first = await start(new MemorySources());
    await expect(startDashboard({ sources: new MemorySources(), port: first.port })).rejects.toThrow(`127.0.0.1:${first.port} is already in use`);
  });
});
