import type { StreamRecord } from '../../../streams/streamClient';
import { itemIdentifierOf } from '../../../runtime/events/itemIdentifier';
import { TUMBLING_WINDOW_STATE_MAX_BYTES, interpretBatchResponse, interpretWindowResponse } from '../../../runtime/invoke/batchResponse';

const sequenceNumbers = ['49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692540925702759324208523137515618', '49590338271490256608559692541000000000000000000000000001'];
const failure = (itemIdentifier: unknown): { itemIdentifier: unknown } => ({ itemIdentifier });

describe('partial batch responses (ReportBatchItemFailures on)', () => {
  it.each([
    ['nothing', undefined],
    ['null', null],
    ['{}', {}],
    ['[]', []],
    ['{ batchItemFailures: [] }', { batchItemFailures: [] }],
    ['{ batchItemFailures: null }', { batchItemFailures: null }],
  ])('counts a batch as a success when the handler returns %s', (_name, response) => {
    expect(interpretBatchResponse(response, sequenceNumbers, true)).toEqual({ kind: 'success' });
  });

  it.each([
    ['an itemIdentifier that is not a sequence number of the batch (123)', [failure(123)]],
    ['an itemIdentifier that is not in the batch ("123")', [failure('123')]],
    ['an empty itemIdentifier', [failure('')]],
    ['a null itemIdentifier', [failure(null)]],
    ['an item without itemIdentifier ({ foo: 123 })', [{ foo: 123 }]],
    ['an unknown identifier among valid ones', [failure(sequenceNumbers[1]), failure('999')]],
    ['an item that is not an object', [sequenceNumbers[0]]],
  ])('counts the whole batch as failed for %s', (_name, batchItemFailures) => {
    const verdict = interpretBatchResponse({ batchItemFailures }, sequenceNumbers, true);
    expect(verdict.kind).toBe('failed');
  });

  it('counts a batch as failed when an itemIdentifier is not in the batch, and says which', () => {
    expect(interpretBatchResponse({ batchItemFailures: [failure('123')] }, sequenceNumbers, true)).toEqual({ kind: 'failed', reason: 'batchItemFailures[0].itemIdentifier "123" is not a record of this batch' });
  });

  it('counts batchItemFailures that is not a list as a failed batch', () => {
    expect(interpretBatchResponse({ batchItemFailures: { itemIdentifier: sequenceNumbers[0] } }, sequenceNumbers, true).kind).toBe('failed');
  });

  it('checkpoints before the lowest failed record, whatever order the handler lists them in', () => {
    const response = { batchItemFailures: [failure(sequenceNumbers[2]), failure(sequenceNumbers[1]), failure(sequenceNumbers[2])] };
    expect(interpretBatchResponse(response, sequenceNumbers, true)).toEqual({ kind: 'partial', firstFailedIndex: 1 });
    expect(interpretBatchResponse({ batchItemFailures: [failure(sequenceNumbers[0])] }, sequenceNumbers, true)).toEqual({ kind: 'partial', firstFailedIndex: 0 });
  });

  it('reads a numeric sequence number like Lambda’s JSON binding', () => {
    expect(interpretBatchResponse({ batchItemFailures: [failure(42)] }, ['41', '42'], true)).toEqual({ kind: 'partial', firstFailedIndex: 1 });
  });

  it('counts a response that is not an object with batchItemFailures as success', () => {
    expect(interpretBatchResponse('done', sequenceNumbers, true)).toEqual({ kind: 'success' });
    expect(interpretBatchResponse(7, sequenceNumbers, true)).toEqual({ kind: 'success' });
    expect(interpretBatchResponse({ statusCode: 200 }, sequenceNumbers, true)).toEqual({ kind: 'success' });
  });

  it('matches Kafka item identifiers, objects naming the topic-partition and offset', () => {
    const records: StreamRecord[] = ['10', '11', '12'].map((position) => ({ stream: 'telemetry', partition: '2', position, key: 'k', value: Buffer.alloc(0), headers: {}, timestamp: 0, arrivalTime: 0 }));
    const identifiers = records.map((record) => itemIdentifierOf(record, 'kafka'));
    expect(interpretBatchResponse({ batchItemFailures: [failure({ partition: 'telemetry-2', offset: 11 })] }, identifiers, true)).toEqual({ kind: 'partial', firstFailedIndex: 1 });
    expect(interpretBatchResponse({ batchItemFailures: [failure({ partition: 'telemetry-1', offset: 11 })] }, identifiers, true).kind).toBe('failed');
    expect(interpretBatchResponse({ batchItemFailures: [failure({ 'topic-partition': 'telemetry-2', offset: 11 })] }, identifiers, true).kind).toBe('failed');
    expect(interpretBatchResponse({ batchItemFailures: [failure('11')] }, identifiers, true).kind).toBe('failed');
  });
});

describe('responses with ReportBatchItemFailures off', () => {
  it.each([[{ batchItemFailures: [failure('123')] }], [{ batchItemFailures: [failure(sequenceNumbers[0])] }], [{ batchItemFailures: 'junk' }], ['text'], [null]])('counts any response as success: %j', (response) => {
    expect(interpretBatchResponse(response, sequenceNumbers, false)).toEqual({ kind: 'success' });
  });
});

describe('tumbling-window responses', () => {
  it('counts a response without state as a failed invocation', () => {
    for (const response of [undefined, null, {}, [], { batchItemFailures: [] }]) expect(interpretWindowResponse(response, sequenceNumbers, true).kind).toBe('failed');
    expect(interpretWindowResponse({ state: 5 }, sequenceNumbers, false).kind).toBe('failed');
    expect(interpretWindowResponse({ state: null }, sequenceNumbers, false).kind).toBe('failed');
  });

  it('carries the state forward with its size, and honours item failures', () => {
    const state = { '1': 282, '2': 715 };
    expect(interpretWindowResponse({ state, batchItemFailures: [] }, sequenceNumbers, true)).toEqual({ kind: 'success', state, stateBytes: JSON.stringify(state).length });
    expect(interpretWindowResponse({ state, batchItemFailures: [failure(sequenceNumbers[1])] }, sequenceNumbers, true)).toMatchObject({ kind: 'partial', firstFailedIndex: 1, state });
    expect(interpretWindowResponse({ state, batchItemFailures: [failure('x')] }, sequenceNumbers, true).kind).toBe('failed');
  });

  it('measures state so the caller can apply the 1 MB cap', () => {
    const big = { blob: 'x'.repeat(TUMBLING_WINDOW_STATE_MAX_BYTES) };
    const verdict = interpretWindowResponse({ state: big }, sequenceNumbers, false);
    expect(verdict.kind === 'success' && verdict.stateBytes).toBeGreaterThan(TUMBLING_WINDOW_STATE_MAX_BYTES);
  });
});
