/**
 * Laws of the dashboard's pure parts: token comparison, dead-letter ids and previews, the
 * stream a processor's scope names, and rates from counters.
 */
import { fc, test } from '@fast-check/jest';
import { isLoopbackHost, resolveToken, tokensMatch } from '../../dashboard/server/accessPolicy';
import { PREVIEW_CHARS, deadLetterId, parseDeadLetterId, payloadPreview, streamOfScope } from '../../dashboard/server/deadLetterEntries';
import { ratePerSecond } from '../../dashboard/server/snapshotFeed';

const streamNameArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,60}$/);
const partitionArb = fc.oneof(fc.nat({ max: 1000 }).map(String), fc.nat({ max: 99 }).map((n) => `shardId-${String(n).padStart(12, '0')}`));
const positionArb = fc.bigInt({ min: 0n, max: 2n ** 128n }).map(String);

describe('dashboard laws', () => {
  test.prop([fc.string(), fc.string()])('tokens match exactly when they are equal', (a, b) => {
    expect(tokensMatch(a, b)).toBe(a === b);
    expect(tokensMatch(a, a)).toBe(true);
  });

  test.prop([fc.constantFrom('0.0.0.0', '::', '192.168.1.10', 'example.com')])('a non-loopback host always gets a token', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
    expect(resolveToken(host, undefined)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  test.prop([streamNameArb, partitionArb, positionArb])('a dead-letter id names its record and parses back', (stream, partition, position) => {
    expect(parseDeadLetterId(deadLetterId({ stream, partition, position }))).toEqual({ stream, partition, position });
  });

  test.prop([fc.string()])('an id that is not stream/partition/digits is refused, not guessed', (text) => {
    const parsed = parseDeadLetterId(text);
    if (parsed) expect(deadLetterId(parsed)).toBe(text);
  });

  test.prop([fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 8, max: 400 })])('a payload preview is bounded and holds no control characters', (bytes, chars) => {
    const preview = payloadPreview(bytes, chars);
    expect([...preview].length).toBeLessThanOrEqual(chars + 1);
    // eslint-disable-next-line no-control-regex -- what must not reach the page
    expect(preview).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  test.prop([fc.string({ unit: 'grapheme', maxLength: PREVIEW_CHARS }).filter((text) => [...text].length <= PREVIEW_CHARS && !/[\p{C}]/u.test(text))])('short printable text is shown as it is', (text) => {
    expect(payloadPreview(Buffer.from(text, 'utf8'))).toBe(text);
  });

  test.prop([streamNameArb, fc.nat({ max: 10_000 }), partitionArb])('the stream of a processor scope is the topic or stream it names', (stream, partition, shard) => {
    expect(streamOfScope(`kafka:${stream}-${partition}`)).toBe(stream);
    expect(streamOfScope(`kinesis:${stream}/${shard}`)).toBe(stream);
  });

  test.prop([fc.nat(), fc.nat(), fc.double({ min: 0.001, max: 3600, noNaN: true })])('a rate is never negative: a counter that went down gives none', (current, previous, seconds) => {
    const rate = ratePerSecond(current, previous, seconds);
    if (current < previous) expect(rate).toBeNull();
    else expect(rate).toBeCloseTo((current - previous) / seconds, 6);
  });
});
