// kinesalite ships no types; this is the part of its index.js API sluice uses.
declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    /** LevelDB directory; in memory when absent */
    path?: string;
    ssl?: boolean;
    /** how long a stream stays CREATING / DELETING / UPDATING (default 500 ms) */
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    shardLimit?: number;
  }

  function kinesalite(options?: KinesaliteOptions): Server;
  export = kinesalite;
}
