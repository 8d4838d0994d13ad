/**
 * Which faults a chaos run injects and when, from a seed: the same seed gives the same plan, so a
 * failing run can be repeated. The run is cut into one slot per fault and each fault falls at a
 * random moment in the first part of its slot, leaving the rest for the pipeline to recover
 * before the next one; kinds are dealt from a shuffled deck, so a run with at least as many
 * faults as kinds injects every kind.
 */
import { ConfigError } from '../../core/errors';

export const WORKER_NAMES = ['ingest', 'transform', 'aggregate', 'store-readings', 'alerts', 'store-aggregates', 'alerts-aggregates'] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

export const SERVER_FAULTS = ['kafka-crash', 'redis-crash', 'mosquitto-restart', 'postgres-drop', 'network-delay'] as const;
export type ServerFault = (typeof SERVER_FAULTS)[number];

export type FaultKind = `kill-${WorkerName}` | ServerFault;

export const FAULT_KINDS: readonly FaultKind[] = [...WORKER_NAMES.map((name) => `kill-${name}` as const), ...SERVER_FAULTS];

export const FAULT_DESCRIPTIONS: Record<string, string> = {
  kill: 'SIGKILL of the worker process, then started again (no drain, no checkpoint)',
  'kafka-crash': 'SIGKILL of the Kafka broker, then started again on its log',
  'redis-crash': 'SIGKILL of redis-server, then started again on its append-only file',
  'mosquitto-restart': 'Mosquitto stopped cleanly (SIGTERM: it saves sessions and queued messages) and started again',
  'postgres-drop': "every pipeline connection to the database terminated (pg_terminate_backend)",
  'network-delay': 'every packet between the workers and Redis and PostgreSQL held 150 ms for 8 s (a loopback proxy)',
};

export interface PlannedFault {
  kind: FaultKind;
  /** ms after the load started */
  atMs: number;
}

/** mulberry32: small, seedable, good enough to place faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function parseFaultKinds(list: string, path = '--kinds'): FaultKind[] {
  const kinds: FaultKind[] = [];
  for (const raw of list.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (raw === 'all') kinds.push(...FAULT_KINDS);
    else if (raw === 'kill-any') kinds.push(...FAULT_KINDS.filter((kind) => kind.startsWith('kill-')));
    else if ((FAULT_KINDS as readonly string[]).includes(raw)) kinds.push(raw as FaultKind);
    else throw new ConfigError(path, `unknown fault "${raw}"; known: all, kill-any, ${FAULT_KINDS.join(', ')}`);
  }
  if (kinds.length === 0) throw new ConfigError(path, 'name at least one fault kind');
  return [...new Set(kinds)];
}

/**
 * `count` faults over `loadMs`: slot i spans [lead + i*slot, lead + (i+1)*slot) of the time after a
 * lead-in (the pipeline warms up first), and its fault falls in the first 40 % of the slot.
 */
export function planFaults(seed: number, count: number, loadMs: number, kinds: readonly FaultKind[]): PlannedFault[] {
  if (count === 0) return [];
  const random = seededRandom(seed);
  const leadMs = Math.min(10_000, loadMs * 0.15);
  const slotMs = (loadMs * 0.85 - leadMs) / count;
  const deck: FaultKind[] = [];
  const plan: PlannedFault[] = [];
  for (let i = 0; i < count; i += 1) {
    if (deck.length === 0) {
      deck.push(...kinds);
      for (let j = deck.length - 1; j > 0; j -= 1) {
        const k = Math.floor(random() * (j + 1));
        [deck[j], deck[k]] = [deck[k] as FaultKind, deck[j] as FaultKind];
      }
    }
    plan.push({ kind: deck.pop() as FaultKind, atMs: Math.round(leadMs + i * slotMs + random() * slotMs * 0.4) });
  }
  return plan;
}
