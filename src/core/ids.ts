/** Job ids are `<queue>.<ULID>`: time-ordered, and the queue tells the API which scheduler shard owns the job. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** `rand`: 16 bytes for the random part; a caller that must make the same id twice passes its own. */
export function ulid(nowMs: number, rand = crypto.getRandomValues(new Uint8Array(16))): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[rand[i] & 31];
  return time + tail;
}

export function newJobId(queue: string, nowMs: number): string {
  return `${queue}.${ulid(nowMs)}`;
}

export function queueOfJobId(id: string): string {
  return id.slice(0, id.lastIndexOf('.'));
}

/** A fencing token for one dispatch attempt: 128 random bits, hex. */
export function newToken(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}
