/**
 * Callback receivers that hang or answer slowly while the load runs (issue 12, item 2). Every job of
 * the phase carries a callback_url: a third go to a receiver that never answers (the API's
 * CALLBACK_TIMEOUT_MS ends each delivery), the rest to one that answers after 0.5 to 3 s. The first
 * job goes to the hanging one, and so do at least six, enough to fill six connections.
 *
 * Besides the usual checks, a slow or dead receiver must delay only its own deliveries. Every job
 * must reach a node, and every delivery to the other receiver must arrive, within LATENCY_MS (of
 * the submission, of the job's end). When callbacks left from the Scheduler, one hanging delivery
 * held every later callback of the queue for the callback timeout (10 s), and six held every
 * dispatch too. A breach fails the phase by throwing.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseApiLog } from './checker';
import type { Fault } from './faults';

const LATENCY_MS = 5_000;
const ALWAYS_HELD = 6;

export function callbackReceivers(): Fault {
  const held: ServerResponse[] = [];
  /** Job id -> ms from the job's end to its delivery's arrival, at the receiver that answers. */
  const arrived = new Map<string, number>();
  let sentToHanging = 0;
  let sentToSlow = 0;
  let armed = false;
  let random = Math.random;
  const hanging = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  const slow = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const job = (JSON.parse(body) as { job: { id: string; finished_at: string } }).job;
      arrived.set(job.id, Date.now() - Date.parse(job.finished_at));
      setTimeout(() => res.writeHead(204).end(), 500 + random() * 2500);
    });
  });
  const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`;
  return {
    name: 'callback-slow',
    arm(ctx) {
      armed = true;
      random = ctx.random; // the phase's seed decides which receiver each job calls back
      // On every interface: bound at once, so the ports are known to the first job.
      hanging.listen(0);
      slow.listen(0);
    },
    jobFields() {
      const hang = sentToHanging < ALWAYS_HELD || random() < 1 / 3;
      if (hang) sentToHanging++;
      else sentToSlow++;
      return { callback_url: urlOf(hang ? hanging : slow) };
    },
    async run(ctx, signal) {
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      // Inside `mixed` this fault is not armed (its jobs carry no callbacks), and restarts and
      // pauses make dispatch latency meaningless there: the isolation is judged in its own phase.
      if (!armed) return;
      const queue = ctx.nodes[0].queue;
      const deadline = Date.now() + 3 * LATENCY_MS;
      let late: string[];
      for (;;) {
        const firstAt = new Map<string, number>();
        for (const d of ctx.nodes.flatMap((n) => n.proxy.dispatches))
          firstAt.set(d.job_id, Math.min(d.at, firstAt.get(d.job_id) ?? Infinity));
        const submitted = parseApiLog(ctx.cluster.apiChunks()).filter(
          (e) => e.event === 'job_submitted' && e.queue === queue,
        );
        const wait = (e: (typeof submitted)[number]) =>
          (firstAt.get(String(e.job_id)) ?? Date.now()) - Date.parse(String(e.ts));
        late = [
          ...submitted
            .filter((e) => wait(e) > LATENCY_MS)
            .map((e) => `${e.job_id} reached a node after ${wait(e)} ms`),
          ...[...arrived]
            .filter(([, ms]) => ms > LATENCY_MS)
            .map(([id, ms]) => `${id}'s callback arrived ${ms} ms after it ended`),
        ];
        const pending =
          submitted.some((e) => !firstAt.has(String(e.job_id))) || arrived.size < sentToSlow;
        if (late.length || !pending || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      if (arrived.size < sentToSlow)
        late.push(
          `${sentToSlow - arrived.size} callback(s) to the answering receiver never arrived`,
        );
      ctx.note(
        `${held.length} deliveries held unanswered; ${arrived.size} of ${sentToSlow} to the other receiver arrived`,
      );
      for (const res of held) res.destroy();
      for (const s of [hanging, slow]) {
        s.closeAllConnections();
        s.close();
      }
      armed = false; // the same object runs again inside `mixed`, unarmed
      if (late.length)
        throw new Error(`callback-slow: ${late.length} late: ${late.slice(0, 5).join('; ')}`);
    },
  };
}
