/** Cleanup for tests that register devices in the shared `devices` table. */
import type { Pool } from 'pg';

/**
 * Deletes the devices this test process registered: every id a test makes comes from
 * uniqueName(), which embeds the process id, and a jest worker runs its files one at a time.
 */
export async function forgetTestDevices(pool: Pool): Promise<void> {
  await pool.query("DELETE FROM devices WHERE device_id LIKE '%-' || $1::text || '-%'", [String(process.pid)]);
}
