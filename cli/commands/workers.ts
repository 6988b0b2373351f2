/** `workers`: the registered nodes, their load and how recently they were heard from. */
import type { Command } from 'commander';
import type { WorkerView } from '../../src/protocol/worker';
import { printJson, type Ctx } from '../context';
import { formatDuration, renderTable, type Column } from '../format';
import type { Runner } from '../program';

export function workerTable(workers: WorkerView[]): string {
  const columns: Column<WorkerView>[] = [
    { header: 'ID', value: (w) => w.id },
    { header: 'STATUS', value: (w) => w.status },
    { header: 'RUNNING', value: (w) => `${w.running}/${w.capacity}`, align: 'right' },
    { header: 'HEARTBEAT', value: (w) => `${formatDuration(w.heartbeat_age_sec * 1000)} ago` },
    { header: 'EXECUTORS', value: (w) => w.executors.join(',') },
    { header: 'QUEUES', value: (w) => w.queues.join(',') },
    { header: 'MODE', value: (w) => w.mode },
    { header: 'URL', value: (w) => w.url || '-' },
  ];
  return renderTable(columns, workers);
}

export function registerWorkers(program: Command, run: Runner): void {
  program
    .command('workers')
    .description('registered worker nodes: status, running/capacity, heartbeat age, executors')
    .action(
      run(async (ctx: Ctx) => {
        const answer = await ctx.client.call<{ workers?: WorkerView[]; live_workers: number }>(
          'GET',
          '/workers',
        );
        if (ctx.json) return printJson(ctx.io, answer);
        // An API key is told only how many nodes are live: their details are the admin's.
        if (!answer.workers)
          return ctx.io.out(
            `${answer.live_workers} live worker node(s); details need the admin token\n`,
          );
        ctx.io.out(
          answer.workers.length ? workerTable(answer.workers) : 'no worker nodes registered\n',
        );
      }),
    );
}
