import type { Context, KinesisStreamEvent } from 'aws-lambda';

// Module state persists across invocations of one loaded module, like a warm Lambda instance.
let invocations = 0;

export const handler = async (event: KinesisStreamEvent, context: Context): Promise<{ records: number; invocations: number; fn: string }> => {
  invocations += 1;
  return { records: event.Records.length, invocations, fn: context.functionName };
};

export async function other(): Promise<string> {
  return 'other';
}

export const notAFunction = 42;
