import fc from 'fast-check';
import type Redis from 'ioredis';
import { isSluiceError } from '../../../core/errors';
import type { ErrorCode } from '../../../core/errors';
import { applyOnce, ExactlyOnceStore, lastApplied } from '../../../runtime/exactlyOnce/applyOnce';
import type { RedisOp } from '../../../runtime/exactlyOnce/applyOnce';
import type { RedisKeys } from '../../../runtime/redis/keys';
import { connectTestRedis, deleteKeys, uniqueKeys } from '../leases/redisTestKit';

async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(isSluiceError(error, code)).toBe(true);
}

describe('applyOnce: exactly-once Redis effects', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: ExactlyOnceStore;
  let k: (name: string) => string;

  beforeEach(() => {
    redis = connectTestRedis();
    keys = uniqueKeys('exactly-once');
    store = new ExactlyOnceStore({ redis, keys });
    k = (name) => `${keys.prefix}:${name}`;
  });

  afterEach(async () => {
    await deleteKeys(redis, keys);
    redis.disconnect();
  });

  it('applies a batch once: a replay of its position, or an earlier one, applies nothing', async () => {
    const ops: RedisOp[] = [
      { op: 'hincrby', key: k('agg'), field: 'count', value: 3 },
      { op: 'incrby', key: k('total'), value: 10 },
    ];
    expect(await store.lastApplied('m/0')).toBeNull();
    expect(await store.applyOnce({ scope: 'm/0', position: '1000', ops })).toBe('applied');
    expect(await store.applyOnce({ scope: 'm/0', position: '1000', ops })).toBe('duplicate');
    expect(await store.applyOnce({ scope: 'm/0', position: '999', ops })).toBe('duplicate'); // shorter: smaller, though "999" > "1000" as text
    expect(await redis.hget(k('agg'), 'count')).toBe('3');
    expect(await redis.get(k('total'))).toBe('10');
    expect(await store.lastApplied('m/0')).toBe('1000');

    expect(await store.applyOnce({ scope: 'm/0', position: '1001', ops })).toBe('applied');
    expect(await redis.hget(k('agg'), 'count')).toBe('6');
    // another scope (partition) has its own positions
    expect(await store.applyOnce({ scope: 'm/1', position: '5', ops })).toBe('applied');
    expect(await redis.get(k('total'))).toBe('30');
  });

  it('compares Kinesis sequence numbers beyond 2^53 exactly', async () => {
    const base = '49590338271490256608559692538361571095921575989136588898';
    const next = '49590338271490256608559692538361571095921575989136588899'; // the same as a double
    expect(Number(base)).toBe(Number(next));
    const ops: RedisOp[] = [{ op: 'incrby', key: k('n'), value: 1 }];
    expect(await store.applyOnce({ scope: 's', position: base, ops })).toBe('applied');
    expect(await store.applyOnce({ scope: 's', position: next, ops })).toBe('applied');
    expect(await store.applyOnce({ scope: 's', position: base, ops })).toBe('duplicate');
    expect(await redis.get(k('n'))).toBe('2');
  });

  it('runs every op of the closed set', async () => {
    await redis.hset(k('h'), 'max', '5', 'min', '5', 'nx', 'kept');
    const result = await store.applyOnce({
      scope: 'ops',
      position: '1',
      ops: [
        { op: 'hincrby', key: k('h'), field: 'count', value: 2 },
        { op: 'hincrbyfloat', key: k('h'), field: 'sum', value: 1.5 },
        { op: 'hset', key: k('h'), field: 'last', value: 'on' },
        { op: 'hsetnx', key: k('h'), field: 'nx', value: 'replaced' },
        { op: 'hsetnx', key: k('h'), field: 'first', value: 42 },
        { op: 'hmax', key: k('h'), field: 'max', value: 7 },
        { op: 'hmax', key: k('h'), field: 'max', value: 6 },
        { op: 'hmin', key: k('h'), field: 'min', value: -2.5 },
        { op: 'hmax', key: k('h'), field: 'newmax', value: 3 },
        { op: 'incrby', key: k('s'), value: -4 },
        { op: 'set', key: k('v'), value: 'hello' },
        { op: 'zadd', key: k('z'), field: 'device-1', value: 12 },
        { op: 'pexpire', key: k('v'), value: 60_000 },
      ],
    });
    expect(result).toBe('applied');
    expect(await redis.hgetall(k('h'))).toEqual({ count: '2', sum: '1.5', last: 'on', nx: 'kept', first: '42', max: '7', min: '-2.5', newmax: '3' });
    expect(await redis.get(k('s'))).toBe('-4');
    expect(await redis.get(k('v'))).toBe('hello');
    expect(await redis.zscore(k('z'), 'device-1')).toBe('12');
    expect(await redis.pttl(k('v'))).toBeGreaterThan(0);
  });

  it('gives the same result as applying ops one by one when ops of a call build on each other', async () => {
    const ops: RedisOp[] = [
      ...Array.from({ length: 300 }, (): RedisOp => ({ op: 'hincrby', key: k('h'), field: 'count', value: 1 })),
      ...Array.from({ length: 300 }, (_, i): RedisOp => ({ op: 'hmax', key: k('h'), field: 'max', value: (i * 37) % 101 })),
      ...Array.from({ length: 100 }, (): RedisOp => ({ op: 'incrby', key: k('n'), value: 5 })),
      { op: 'pexpire', key: k('n'), value: 60_000 },
      { op: 'incrby', key: k('n'), value: 1 },
      { op: 'hset', key: k('h'), field: 'f', value: 10 },
      { op: 'hmax', key: k('h'), field: 'f', value: 5 }, // reads the 10 set just before
      { op: 'hincrby', key: k('h'), field: 'g', value: 7 },
      { op: 'hmax', key: k('h'), field: 'g', value: 3 }, // reads the 7 added just before
      { op: 'hincrby', key: k('h'), field: 'm', value: 7 },
      { op: 'hmin', key: k('h'), field: 'm', value: 9 }, // reads the 7 added just before
      { op: 'hincrby', key: k('h'), field: 'm', value: 1 },
      { op: 'hsetnx', key: k('h'), field: 'once', value: 4 },
      { op: 'hmin', key: k('h'), field: 'once', value: 9 },
    ];
    await redis.hset(k('h'), 'count', '1000');
    expect(await store.applyOnce({ scope: 'fold', position: '1', ops })).toBe('applied');
    expect(await redis.hgetall(k('h'))).toEqual({ count: '1300', max: '100', f: '10', g: '7', m: '8', once: '4' });
    expect(await redis.get(k('n'))).toBe('501');
  });

  it('writes nothing when one op meets a key or field of another type (Redis would not roll back)', async () => {
    await redis.rpush(k('list'), 'x');
    await redis.hset(k('h'), 'text', 'abc');
    const before = { counter: 'untouched' };
    await redis.set(k('counter'), before.counter);
    await expectError(store.applyOnce({ scope: 'w', position: '1', ops: [{ op: 'hincrby', key: k('fresh'), field: 'a', value: 1 }, { op: 'hincrby', key: k('list'), field: 'a', value: 1 }] }), 'OPERATION_INVALID');
    await expectError(store.applyOnce({ scope: 'w', position: '1', ops: [{ op: 'hincrby', key: k('fresh'), field: 'a', value: 1 }, { op: 'hincrby', key: k('h'), field: 'text', value: 1 }] }), 'OPERATION_INVALID');
    await expectError(store.applyOnce({ scope: 'w', position: '1', ops: [{ op: 'hincrby', key: k('fresh'), field: 'a', value: 1 }, { op: 'incrby', key: k('counter'), value: 1 }] }), 'OPERATION_INVALID');
    expect(await redis.exists(k('fresh'))).toBe(0);
    expect(await store.lastApplied('w')).toBeNull();
    expect(await redis.get(k('counter'))).toBe(before.counter);
  });

  it('refuses ops built wrongly before they reach Redis', async () => {
    const bad = (ops: RedisOp[]): Promise<unknown> => store.applyOnce({ scope: 'b', position: '1', ops });
    await expectError(bad([{ op: 'hincrby', key: k('h'), field: 'a', value: 1.5 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'incrby', key: k('n'), value: Number.NaN }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'hincrby', key: k('h'), field: '', value: 1 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'hset', key: k('x'), field: 'a', value: 1 }, { op: 'incrby', key: k('x'), value: 1 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'hset', key: k('x'), field: 'a', value: 'text' }, { op: 'hincrby', key: k('x'), field: 'a', value: 1 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'hset', key: k('x'), field: 'a', value: 1.5 }, { op: 'hincrby', key: k('x'), field: 'a', value: 1 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'set', key: k('s'), value: 'text' }, { op: 'pexpire', key: k('s'), value: 10 }, { op: 'incrby', key: k('s'), value: 1 }]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'del', key: k('x'), value: 1 } as unknown as RedisOp]), 'OPERATION_INVALID');
    await expectError(bad([{ op: 'incrby', key: keys.exactlyOnceApplied('b'), value: 1 }]), 'OPERATION_INVALID');
    await expectError(store.applyOnce({ scope: 'b', position: '0042', ops: [] }), 'POSITION_INVALID');
    await expectError(store.applyOnce({ scope: 'b', position: '-1', ops: [] }), 'POSITION_INVALID');
    expect(await store.lastApplied('b')).toBeNull();
  });

  it('offers the functional form applyOnce(redis, request) and lastApplied(redis, scope)', async () => {
    expect(await applyOnce(redis, { scope: 'fn', position: '7', ops: [{ op: 'incrby', key: k('f'), value: 1 }] }, keys)).toBe('applied');
    expect(await lastApplied(redis, 'fn', keys)).toBe('7');
  });

  it('property: one call gives the same state as its ops sent one by one (folding and in-call reads)', async () => {
    const integer = fc.integer({ min: -50, max: 50 });
    const hashOp = fc.record({
      op: fc.constantFrom('hincrby' as const, 'hmax' as const, 'hmin' as const, 'hset' as const, 'hsetnx' as const),
      key: fc.constantFrom('h1', 'h2'),
      field: fc.constantFrom('a', 'b'),
      value: integer,
    });
    const stringOp = fc.record({ op: fc.constantFrom('incrby' as const, 'set' as const), key: fc.constant('s1'), value: integer });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(hashOp, stringOp), { maxLength: 80, size: 'medium' }), async (drawn) => {
        run += 1;
        const at = (side: string, key: string): string => k(`same-${run}-${side}:${key}`);
        const ops = drawn.map((op): RedisOp => ({ ...op, key: at('once', op.key) }));
        expect(await store.applyOnce({ scope: `same-${run}`, position: '1', ops })).toBe('applied');
        for (const op of drawn) {
          const key = at('reference', op.key);
          if (!('field' in op)) {
            if (op.op === 'incrby') await redis.incrby(key, op.value);
            else await redis.set(key, op.value);
          } else if (op.op === 'hincrby') await redis.hincrby(key, op.field, op.value);
          else if (op.op === 'hset') await redis.hset(key, op.field, op.value);
          else if (op.op === 'hsetnx') await redis.hsetnx(key, op.field, op.value);
          else {
            const stored = await redis.hget(key, op.field);
            if (stored === null || (op.op === 'hmax' ? op.value > Number(stored) : op.value < Number(stored))) await redis.hset(key, op.field, op.value);
          }
        }
        for (const key of ['h1', 'h2']) expect(await redis.hgetall(at('once', key))).toEqual(await redis.hgetall(at('reference', key)));
        expect(await redis.get(at('once', 's1'))).toBe(await redis.get(at('reference', 's1')));
      }),
      { numRuns: 60 },
    );
  });

  // Deliveries as an at-least-once stream makes them: in order, with single replays of earlier
  // batches and with resumes from an earlier checkpoint (a crash before the checkpoint moved).
  const deliveryScript = fc.record({
    // positions start just below a power of ten, so they cross a change of length
    digits: fc.integer({ min: 1, max: 40 }),
    below: fc.integer({ min: 0, max: 40 }),
    batches: fc.array(
      fc.record({
        gap: fc.bigInt({ min: 1n, max: 25n }),
        increments: fc.array(fc.record({ field: fc.constantFrom('a', 'b', 'c'), by: fc.integer({ min: -1000, max: 1000 }) }), { maxLength: 6 }),
        reading: fc.integer({ min: -100_000, max: 100_000 }),
      }),
      { minLength: 1, maxLength: 25 },
    ),
    commands: fc.array(fc.oneof(fc.constant({ kind: 'next' as const }), fc.record({ kind: fc.constant('replay' as const), back: fc.nat(30) }), fc.record({ kind: fc.constant('resume' as const), back: fc.nat(30) })), { maxLength: 60 }),
  });

  it('property: with arbitrary replays, the final counters equal applying each distinct position once', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(deliveryScript, async ({ digits, below, batches, commands }) => {
        run += 1;
        const scope = `prop-${run}`;
        const hash = k(`prop-${run}:agg`);
        const total = k(`prop-${run}:total`);
        let position = 10n ** BigInt(digits) - BigInt(below);
        if (position < 0n) position = 0n;
        const positions = batches.map((batch) => (position += batch.gap).toString());
        const opsOf = (index: number): RedisOp[] => {
          const batch = batches[index] as (typeof batches)[number];
          return [
            ...batch.increments.map((inc): RedisOp => ({ op: 'hincrby', key: hash, field: inc.field, value: inc.by })),
            { op: 'incrby', key: total, value: 1 },
            { op: 'hmax', key: hash, field: 'max', value: batch.reading },
            { op: 'hmin', key: hash, field: 'min', value: batch.reading },
          ];
        };
        const deliver = async (index: number, firstTime: boolean): Promise<void> => {
          const outcome = await store.applyOnce({ scope, position: positions[index] as string, ops: opsOf(index) });
          expect(outcome).toBe(firstTime ? 'applied' : 'duplicate');
        };

        let next = 0; // the next batch the stream delivers
        let applied = 0; // batches applied so far (all below this index)
        for (const command of commands) {
          if (command.kind === 'next' && next < positions.length) {
            await deliver(next, next >= applied);
            next += 1;
            applied = Math.max(applied, next);
          } else if (command.kind === 'replay' && applied > 0) {
            await deliver(Math.max(0, applied - 1 - command.back), false);
          } else if (command.kind === 'resume') {
            next = Math.max(0, next - command.back); // back to an earlier checkpoint
          }
        }
        while (next < positions.length) {
          await deliver(next, next >= applied);
          next += 1;
          applied = Math.max(applied, next);
        }

        const expected: Record<string, string> = { max: String(Math.max(...batches.map((batch) => batch.reading))), min: String(Math.min(...batches.map((batch) => batch.reading))) };
        for (const batch of batches) for (const inc of batch.increments) expected[inc.field] = String(Number(expected[inc.field] ?? 0) + inc.by);
        expect(await redis.hgetall(hash)).toEqual(expected);
        expect(await redis.get(total)).toBe(String(batches.length));
        expect(await store.lastApplied(scope)).toBe(positions[positions.length - 1]);
      }),
      { numRuns: 60 },
    );
  });
});
