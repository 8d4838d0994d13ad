/**
 * Session windows of one device and one gap: a session is a run of readings whose event times
 * are less than `gap` apart; it spans [first reading, last reading + gap). A reading opens the
 * interval [t, t + gap); every session that interval overlaps merges with it into one (the one
 * with the earliest start survives, so the outcome does not depend on arrival order). Sessions
 * never overlap each other, so the merged span overlaps no other session.
 *
 * Pure and in memory: the planner runs it over the device's sessions as read from Redis and the
 * batch's readings, and the batch script applies the resulting merges.
 */
export interface SessionInfo {
  id: string;
  start: number;
  /** event time of the last reading */
  last: number;
  closed: boolean;
}

export type SessionPlacement =
  | { outcome: 'joined'; session: SessionInfo; absorbed: SessionInfo[] }
  | { outcome: 'created'; session: SessionInfo }
  /** overlaps a session that is already closed: the reading is late for this spec */
  | { outcome: 'closed'; session: SessionInfo };

/** The stored form of a session in the device's session index: "start,last,open|closed". */
export function packSession(session: SessionInfo): string {
  return `${session.start},${session.last},${session.closed ? 'closed' : 'open'}`;
}

export function unpackSession(id: string, text: string): SessionInfo | undefined {
  const [start, last, status] = text.split(',');
  const info = { id, start: Number(start), last: Number(last), closed: status === 'closed' };
  return Number.isFinite(info.start) && Number.isFinite(info.last) && (status === 'open' || status === 'closed') ? info : undefined;
}

/** Session ids come from the reading that opened the session, so a replay makes the same ids. */
export function sessionIdFor(eventTime: number, seq: number): string {
  return `${eventTime}-${seq}`;
}

function earlier(a: SessionInfo, b: SessionInfo): boolean {
  return a.start < b.start || (a.start === b.start && a.id < b.id);
}

/**
 * Places a reading among `sessions` (mutated: absorbed sessions are removed, the survivor's
 * bounds grow, a new session is added). `isClosed` adds knowledge the index may not have yet.
 */
export function placeInSession(sessions: SessionInfo[], eventTime: number, seq: number, gapMs: number, isClosed: (session: SessionInfo) => boolean): SessionPlacement {
  const overlapping = sessions.filter((session) => session.start < eventTime + gapMs && eventTime < session.last + gapMs);
  const closed = overlapping.find((session) => session.closed || isClosed(session));
  if (closed) return { outcome: 'closed', session: closed };
  if (overlapping.length === 0) {
    const session: SessionInfo = { id: sessionIdFor(eventTime, seq), start: eventTime, last: eventTime, closed: false };
    sessions.push(session);
    return { outcome: 'created', session };
  }
  let survivor = overlapping[0] as SessionInfo;
  for (const session of overlapping) if (earlier(session, survivor)) survivor = session;
  const absorbed = overlapping.filter((session) => session !== survivor);
  for (const session of absorbed) {
    survivor.last = Math.max(survivor.last, session.last);
    sessions.splice(sessions.indexOf(session), 1);
  }
  survivor.start = Math.min(survivor.start, eventTime);
  survivor.last = Math.max(survivor.last, eventTime);
  return { outcome: 'joined', session: survivor, absorbed };
}
