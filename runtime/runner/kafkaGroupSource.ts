/**
 * Kafka partitions owned through Kafka's own consumer-group protocol (like Lambda's MSK
 * poller, whose consumer group is the mapping): the group assigns partitions, the reader starts
 * at the group's committed offset, and checkpoints are offset commits to the group, so Kafka's
 * own tools (kafka-consumer-groups) show the mapping's progress and lag.
 */
import type { Logger } from 'pino';
import type { ConsumerGroupCapable, ConsumerGroupMember, StartPosition, StreamClient } from '../../streams/streamClient';
import type { PartitionSource, PartitionSourceListener } from './partitionSource';

export interface KafkaGroupSourceOptions {
  client: StreamClient & ConsumerGroupCapable;
  stream: string;
  groupId: string;
  start: StartPosition;
  /** how long the group waits for a member that stopped heartbeating (a killed worker) before giving its partitions to another */
  sessionTimeoutMs?: number;
  logger: Logger;
}

export class KafkaGroupSource implements PartitionSource {
  private member: ConsumerGroupMember | undefined;

  constructor(private readonly options: KafkaGroupSourceOptions) {}

  async start(listener: PartitionSourceListener): Promise<void> {
    this.member = await this.options.client.joinConsumerGroup(this.options.stream, {
      groupId: this.options.groupId,
      start: this.options.start,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      onAssigned: (assignment) => {
        this.options.logger.info({ partition: assignment.partition }, 'partition assigned');
        listener.owned({ partition: assignment.partition, reader: assignment.reader, checkpoint: (position) => assignment.commit(position), lost: assignment.revoked });
      },
      onRevoked: async (partition) => {
        this.options.logger.info({ partition }, 'partition revoked');
        await listener.lost(partition);
      },
    });
  }

  owned(): string[] {
    return this.member?.assignedPartitions() ?? [];
  }

  async stop(): Promise<void> {
    await this.member?.stop();
  }
}
