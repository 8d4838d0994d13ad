import { InstancePool } from '../../runtime/instances/instancePool';

describe('function instance pool', () => {
  it('reuses a warm instance, starts new ones up to the limit, and makes the rest wait', async () => {
    let loads = 0;
    const pool = new InstancePool({ load: async () => ({ n: ++loads }), maxInstances: 2, coldStartMs: 0, idleTimeoutMs: 60_000 });
    const a = await pool.acquire();
    pool.release(a);
    const again = await pool.acquire();
    expect(again).toBe(a);
    const b = await pool.acquire();
    expect(loads).toBe(2);
    let third: unknown;
    const waiting = pool.acquire().then((instance) => { third = instance; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBeUndefined();
    pool.release(b);
    await waiting;
    expect(third).toBe(b);
    expect(loads).toBe(2);
    pool.close();
  });

  it('keeps module state per instance and scales to zero after the idle timeout', async () => {
    let clock = 0;
    let loads = 0;
    const pool = new InstancePool({ load: async () => ({ state: { calls: 0 }, n: ++loads }), maxInstances: 4, coldStartMs: 0, idleTimeoutMs: 1000, now: () => clock });
    const first = await pool.acquire();
    first.handler.state.calls += 1;
    pool.release(first);
    expect((await pool.acquire()).handler.state.calls).toBe(1);
    pool.release(first);
    clock = 5000;
    pool.reapIdle();
    expect(pool.size).toBe(0);
    const fresh = await pool.acquire();
    expect(fresh.handler.state.calls).toBe(0);
    expect(loads).toBe(2);
    pool.close();
  });
});
