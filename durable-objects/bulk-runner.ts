import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env';
import { dbOf } from '../src/db/client';
import { failBulk, getBulk } from '../src/db/bulk-actions';
import { runBulkPage } from '../src/api/bulk-run';
import { log } from '../src/log';

/** Pages one alarm runs before it hands over to the next (a fresh invocation, fresh limits). */
const PAGES_PER_ALARM = 20;
/** Failures in a row of one page before its queues' errors count its jobs failed and it moves on. */
const LAST_TRY_AFTER = 5;
/** Failures in a row (D1 itself failing) before the action is given up as `failed`. */
const GIVE_UP_AFTER = 20;

/**
 * Runs one large bulk action (POST /jobs/bulk) in the background: one object per action
 * (`idFromName(id)`), an alarm loop over pages of the action's jobs (src/api/bulk-run.ts). The
 * progress lives in D1 (`bulk_actions`), where `GET /jobs/bulk/:id` reads it; this object keeps
 * only the action's id and the count of failures in a row. Every page is safe to run twice, so an
 * alarm that dies mid-page is simply run again by the platform or by the next alarm.
 */
export class BulkRunner extends DurableObject<Env> {
  async start(id: string): Promise<void> {
    this.ctx.storage.kv.put('id', id);
    this.ctx.storage.kv.put('tries', 0);
    await this.ctx.storage.setAlarm(Date.now());
  }

  async alarm(): Promise<void> {
    const id = this.ctx.storage.kv.get<string>('id');
    if (!id) return;
    const db = dbOf(this.env.DB);
    for (let n = 0; n < PAGES_PER_ALARM; n++) {
      const tries = this.ctx.storage.kv.get<number>('tries') ?? 0;
      try {
        const row = await getBulk(db, null, id);
        if (!row || row.status !== 'running') return this.finish();
        const run = await runBulkPage(this.env, row, {
          lastTry: tries >= LAST_TRY_AFTER,
          paced: true,
        });
        this.ctx.storage.kv.put('tries', 0);
        if (run.kind === 'wait') return void (await this.ctx.storage.setAlarm(Date.now() + run.ms));
        if (run.kind === 'committed' && run.last) return this.finish();
      } catch (e) {
        this.ctx.storage.kv.put('tries', tries + 1);
        log({
          level: 'warn',
          event: 'bulk_page_failed',
          bulk_id: id,
          tries: tries + 1,
          error: String(e).slice(0, 300),
        });
        if (tries + 1 >= GIVE_UP_AFTER) {
          await failBulk(db, id, String(e), Date.now()).catch(() => undefined);
          return this.finish();
        }
        return void (await this.ctx.storage.setAlarm(
          Date.now() + Math.min(60_000, 500 * 2 ** tries),
        ));
      }
    }
    await this.ctx.storage.setAlarm(Date.now());
  }

  private async finish(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
