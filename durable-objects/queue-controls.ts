// The operator's controls over the queue: pause, resume and a cap on its running jobs.
import type { QueueControls } from '../src/core/engine/flow';
import type { QueueShell } from './queue-shell';

/**
 * Changes the queue's controls (src/core/engine/flow.ts). They are written to the object's storage
 * in this turn, before the answer leaves (the output gate holds it until the write is durable), so
 * a pause that was answered holds across a restart. A resume or a higher cap starts a dispatch pass
 * at once; a pause stops only new starts: the running jobs finish.
 */
export async function setControls(
  s: QueueShell,
  queue: string,
  change: Partial<QueueControls>,
): Promise<QueueControls> {
  s.bind(queue);
  const next: QueueControls = { ...s.engine.controls, ...change };
  s.store.setControls(next);
  s.engine.controls = next;
  s.kick();
  await s.armAlarm();
  return next;
}

export function controlsOf(s: QueueShell, queue: string): QueueControls {
  s.bind(queue);
  return s.engine.controls;
}
