import { fc, test } from '@fast-check/jest';
import { signWebhookBody, verifyWebhookSignature, webhookSignature } from '../../../processors/alerts/webhookSignature';

const secret = fc.string({ minLength: 16, maxLength: 64 });
const body = fc.string({ maxLength: 500 });
const now = fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 });

describe('webhook signatures', () => {
  test.prop([secret, body, now])('verify what was signed, within the tolerance', (key, text, at) => {
    const header = signWebhookBody(key, text, at);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(key, header, text, 300, at + 299_000)).toEqual({ valid: true, timestamp: Math.floor(at / 1000) });
    expect(verifyWebhookSignature(key, header, Buffer.from(text, 'utf8'), 300, at)).toMatchObject({ valid: true });
  });

  test.prop([secret, body, body, now])('refuse another body', (key, text, other, at) => {
    fc.pre(text !== other);
    expect(verifyWebhookSignature(key, signWebhookBody(key, text, at), other, 300, at)).toEqual({ valid: false, reason: 'signature_mismatch' });
  });

  test.prop([secret, secret, body, now])('refuse another secret', (key, otherKey, text, at) => {
    fc.pre(key !== otherKey);
    expect(verifyWebhookSignature(otherKey, signWebhookBody(key, text, at), text, 300, at)).toEqual({ valid: false, reason: 'signature_mismatch' });
  });

  test.prop([secret, body, now, fc.integer({ min: 301, max: 10_000_000 }), fc.boolean()])('refuse a replay outside the tolerance, early or late', (key, text, at, skewSeconds, late) => {
    const header = signWebhookBody(key, text, at);
    const receiverNow = at + (late ? 1 : -1) * (skewSeconds + 1) * 1000;
    expect(verifyWebhookSignature(key, header, text, 300, receiverNow)).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
  });

  test.prop([secret, body, now])('refuse a timestamp changed to look fresh (the signature covers it)', (key, text, at) => {
    const header = signWebhookBody(key, text, at);
    const moved = header.replace(/^t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1000}`);
    expect(verifyWebhookSignature(key, moved, text, 300, at + 1_000_000)).toEqual({ valid: false, reason: 'signature_mismatch' });
  });

  it('refuses missing and malformed headers and accepts any of several v1 signatures', () => {
    const at = 1_800_000_000_000;
    const t = Math.floor(at / 1000);
    expect(verifyWebhookSignature('k'.repeat(16), undefined, 'x', 300, at)).toEqual({ valid: false, reason: 'missing_header' });
    for (const header of ['v1=abc', `t=${t}`, `t=${t},v1=zz`, 'garbage', `t=x,v1=${'0'.repeat(64)}`, `t=${t},t=${t},v1=${'0'.repeat(64)}`]) {
      expect(verifyWebhookSignature('k'.repeat(16), header, 'x', 300, at)).toEqual({ valid: false, reason: 'malformed_header' });
    }
    const rotated = `t=${t},v1=${webhookSignature('old-secret-0123456', t, 'x')},v1=${webhookSignature('new-secret-0123456', t, 'x')}`;
    expect(verifyWebhookSignature('new-secret-0123456', rotated, 'x', 300, at)).toMatchObject({ valid: true });
  });
});
