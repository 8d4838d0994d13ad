/**
 * `sluice checkpoints show|rewind`: a mapping's checkpoints, read and moved by an admin.
 * Kinesis checkpoints are the shard leases in Redis (runtime/checkpoints); Kafka checkpoints
 * are the committed offsets of the mapping's consumer group (`sluice-<FunctionName>`), read
 * and moved through the stream client's group-admin capability.
 *
 * Rewinding a Kinesis lease works while workers run (the owner loses the lease and the next
 * holder reads from the new checkpoint). Kafka does not move the offsets of a group with
 * running members: stop the workers, rewind, start them again.
 */
import type { Command } from 'commander';
import { SluiceError } from '../../core/errors';
import { CheckpointView, checkpointTable } from '../../runtime/checkpoints/checkpointView';
import type { CheckpointRow } from '../../runtime/checkpoints/checkpointView';
import { parseRewindPosition } from '../../runtime/leases/shardLease';
import type { RewindPosition } from '../../runtime/leases/shardLease';
import { RedisKeys, leaseGroupName } from '../../runtime/redis/keys';
import { openStreamClient } from '../../streams/openStreamClient';
import { parseStreamAddress } from '../../streams/streamAddress';
import type { KafkaAddress, KinesisAddress } from '../../streams/streamAddress';
import { supportsGroupAdmin } from '../../streams/streamClient';
import type { ConsumerGroupAdminCapable, GroupOffsetTarget, GroupOffsets, StreamClient } from '../../streams/streamClient';
import { connectRedis, redisUrlFrom } from '../support/redisConnection';

interface CheckpointFlags {
  source: string;
  functionName: string;
  redisUrl?: string;
  redisKeyPrefix?: string;
  groupId?: string;
  json?: boolean;
}

interface RewindFlags extends CheckpointFlags {
  partition: string;
  to: string;
}

/** Pads cells into aligned columns, header first. */
export function formatTable(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd()).join('\n');
}

// ---------- Kinesis: leases in Redis ----------

async function withLeaseView<T>(flags: CheckpointFlags, address: KinesisAddress, use: (view: CheckpointView, group: string) => Promise<T>): Promise<T> {
  const redis = await connectRedis(redisUrlFrom(flags.redisUrl));
  try {
    const view = new CheckpointView({ redis, keys: new RedisKeys(flags.redisKeyPrefix) });
    const group = leaseGroupName(flags.functionName, address.stream);
    const groups = await view.leaseGroups();
    if (!groups.includes(group)) {
      const known = groups.filter((name) => name.endsWith(`@${address.stream}`)).map((name) => name.slice(0, name.lastIndexOf('@')));
      throw new SluiceError('PARTITION_NOT_FOUND', `no checkpoints for function "${flags.functionName}" on Kinesis stream "${address.stream}" (has it run?)${known.length > 0 ? `; functions with checkpoints on it: ${known.join(', ')}` : ''}`);
    }
    return await use(view, group);
  } finally {
    redis.disconnect();
  }
}

async function rewindLeases(flags: RewindFlags, address: KinesisAddress, position: RewindPosition): Promise<CheckpointRow[]> {
  return withLeaseView(flags, address, async (view, group) => {
    const shards = (await view.list(group)).map((row) => row.partition);
    const targets = flags.partition === 'all' ? shards : [flags.partition];
    for (const shard of targets) {
      if (!shards.includes(shard)) throw new SluiceError('PARTITION_NOT_FOUND', `function "${flags.functionName}" has no checkpoint for shard "${shard}" of "${address.stream}" (it has ${shards.join(', ')})`);
    }
    for (const shard of targets) await view.rewind(group, shard, position);
    return (await view.list(group)).filter((row) => targets.includes(row.partition));
  });
}

// ---------- Kafka: the consumer group's committed offsets ----------

function groupIdOf(flags: CheckpointFlags): string {
  return flags.groupId ?? `sluice-${flags.functionName}`;
}

async function withGroupAdmin<T>(address: KafkaAddress, use: (client: StreamClient & ConsumerGroupAdminCapable) => Promise<T>): Promise<T> {
  const client = openStreamClient(address, { clientId: 'sluice-checkpoints' });
  try {
    if (!supportsGroupAdmin(client)) throw new SluiceError('OPERATION_INVALID', `the ${client.kind} client cannot read consumer groups`);
    return await use(client);
  } finally {
    await client.close();
  }
}

function checkGroupKnown(offsets: GroupOffsets, flags: CheckpointFlags, topic: string): void {
  if (offsets.members.length === 0 && offsets.partitions.every((partition) => partition.committed === null)) {
    throw new SluiceError('PARTITION_NOT_FOUND', `no checkpoints for function "${flags.functionName}" on Kafka topic "${topic}": consumer group "${offsets.groupId}" has committed nothing there (has it run? another group id: --group-id)`);
  }
}

function groupOffsetTarget(position: RewindPosition): GroupOffsetTarget {
  switch (position.type) {
    case 'TRIM_HORIZON':
      return { type: 'earliest' };
    case 'LATEST':
      return { type: 'latest' };
    case 'AT_TIMESTAMP':
      return { type: 'at-timestamp', timestamp: position.timestamp };
    case 'SEQUENCE_NUMBER':
      return { type: 'at', position: position.sequenceNumber };
  }
}

function groupTable(offsets: GroupOffsets): string[][] {
  const owner = offsets.members.length > 0 ? `${offsets.members.length} member(s)` : '-';
  return [
    ['group', 'partition', 'committed offset', 'log start', 'log end', 'lag', 'state', 'owner'],
    ...offsets.partitions.map((row) => [offsets.groupId, row.partition, row.committed ?? '-', row.low, row.high, String(row.lag), offsets.state, owner]),
  ];
}

async function rewindGroup(flags: RewindFlags, address: KafkaAddress, position: RewindPosition): Promise<GroupOffsets> {
  return withGroupAdmin(address, async (client) => {
    const before = await client.groupOffsets(address.stream, groupIdOf(flags));
    checkGroupKnown(before, flags, address.stream);
    const partitions = before.partitions.map((row) => row.partition);
    const targets = flags.partition === 'all' ? partitions : [flags.partition];
    for (const partition of targets) {
      if (!partitions.includes(partition)) throw new SluiceError('PARTITION_NOT_FOUND', `Kafka topic "${address.stream}" has no partition "${partition}" (it has ${partitions.join(', ')})`);
    }
    const target = groupOffsetTarget(position);
    const after = await client.setGroupOffsets(address.stream, before.groupId, targets.map((partition) => ({ partition, target })));
    return { ...after, partitions: after.partitions.filter((row) => targets.includes(row.partition)) };
  });
}

// ---------- the commands ----------

export async function showCheckpoints(flags: CheckpointFlags): Promise<CheckpointRow[] | GroupOffsets> {
  const address = parseStreamAddress(flags.source);
  if (address.kind === 'kinesis') return withLeaseView(flags, address, (view, group) => view.list(group));
  return withGroupAdmin(address, async (client) => {
    const offsets = await client.groupOffsets(address.stream, groupIdOf(flags));
    checkGroupKnown(offsets, flags, address.stream);
    return offsets;
  });
}

export async function rewindCheckpoints(flags: RewindFlags): Promise<CheckpointRow[] | GroupOffsets> {
  const address = parseStreamAddress(flags.source);
  const position = parseRewindPosition(flags.to);
  return address.kind === 'kinesis' ? rewindLeases(flags, address, position) : rewindGroup(flags, address, position);
}

function printResult(result: CheckpointRow[] | GroupOffsets, json: boolean | undefined): void {
  if (json === true) console.log(JSON.stringify(result, null, 2));
  else console.log(formatTable(Array.isArray(result) ? checkpointTable(result) : groupTable(result)));
}

function addCommonOptions(command: Command): Command {
  return command
    .requiredOption('--source <address>', 'the mapping\'s source: kinesis://host:port/stream or kafka://host:port/topic')
    .requiredOption('--function-name <name>', 'the mapping\'s FunctionName')
    .option('--redis-url <url>', 'Kinesis: Redis holding the leases (default $SLUICE_REDIS_URL or redis://127.0.0.1:6379)')
    .option('--redis-key-prefix <prefix>', 'Kinesis: the runtime\'s Redis key prefix', 'sluice')
    .option('--group-id <id>', 'Kafka: the consumer group (default sluice-<function-name>)')
    .option('--json', 'print JSON instead of a table');
}

export function registerCheckpointsCommand(program: Command): void {
  const checkpoints = program.command('checkpoints').description('show or rewind the checkpoints of a mapping (Kinesis leases in Redis, Kafka consumer-group offsets)');
  addCommonOptions(checkpoints.command('show').description('list the checkpoint of every shard/partition of a mapping'))
    .addHelpText('after', `
Kinesis: checkpoint = last processed sequence number (or TRIM_HORIZON/LATEST/AT_TIMESTAMP/SHARD_END), with the lease's owner and state.
Kafka: committed offset = the next record the group reads, with the log bounds and lag.`)
    .action(async (flags: CheckpointFlags) => printResult(await showCheckpoints(flags), flags.json));
  addCommonOptions(checkpoints.command('rewind').description('move the checkpoint of one or all shards/partitions (backwards or forwards)'))
    .requiredOption('--partition <id|all>', 'shard id (shardId-000000000000) or Kafka partition (0, 1, ...), or all')
    .requiredOption('--to <position>', 'TRIM_HORIZON, LATEST, AT_TIMESTAMP:<epoch ms|ISO time>, or a position')
    .addHelpText('after', `
A position is a Kinesis sequence number (the checkpoint: processing resumes AFTER it) or a Kafka offset
(the committed offset: processing resumes AT it).
Kinesis leases may be rewound while workers run: the owner loses the lease and the next holder reads from there.
Kafka refuses to move the offsets of a group with running members: stop the workers first.`)
    .action(async (flags: RewindFlags) => printResult(await rewindCheckpoints(flags), flags.json));
}
