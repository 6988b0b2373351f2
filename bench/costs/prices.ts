// Cloudflare's published prices for what a job uses, and what one million jobs cost at them. The
// figures are the paid plan's rates beyond its included amounts (which this ignores: it prices the
// margin), from developers.cloudflare.com/{workers,durable-objects,d1}/platform/pricing.
export const PRICES = {
  as_of: '2026-11 (Workers Paid plan, beyond included usage)',
  worker_requests_per_million: 0.3,
  worker_cpu_ms_per_million: 0.02,
  do_requests_per_million: 0.15,
  do_gb_sec_per_million: 12.5,
  // SQLite-backed Durable Object storage and D1 bill alike: per row read and per row written.
  rows_read_per_million: 0.001,
  rows_written_per_million: 1.0,
};

/** A Durable Object's memory, as billed for duration. */
const DO_GB = 0.125;
/** Requests one Durable Object serves per second, about (the platform's documented soft limit). */
const DO_REQUESTS_PER_SEC = 1000;

export interface PerJob {
  workerd_cpu_ms: number;
  storage_reads: number;
  storage_writes: number;
  d1_statements_object: number;
  d1_statements_api: number;
  requests_to_api: number;
}

/**
 * Dollars per million jobs, item by item. Statements stand in for rows: each of ours touches one row
 * by its key, but an index on a written column adds a row written, so the storage lines are a floor.
 * Every request to the API reaches one queue object (an RPC, billed as a Durable Object request),
 * and the object's duration is priced as if it were busy for its CPU time only (it is billed by
 * wall-clock while it is awake, which at a steady load is all the time: see the note).
 */
export function costTable(j: PerJob): { rows: { item: string; usd: number }[]; note: string } {
  const usd = (x: number) => Math.round(x * 1000) / 1000;
  const rows = [
    { item: 'Worker requests', usd: usd(j.requests_to_api * PRICES.worker_requests_per_million) },
    { item: 'Worker CPU', usd: usd(j.workerd_cpu_ms * PRICES.worker_cpu_ms_per_million) },
    {
      item: 'Durable Object requests',
      usd: usd(j.requests_to_api * PRICES.do_requests_per_million),
    },
    {
      item: 'Durable Object duration (CPU time only)',
      usd: usd((j.workerd_cpu_ms / 1000) * DO_GB * PRICES.do_gb_sec_per_million),
    },
    {
      item: 'object storage rows written',
      usd: usd(j.storage_writes * PRICES.rows_written_per_million),
    },
    { item: 'object storage rows read', usd: usd(j.storage_reads * PRICES.rows_read_per_million) },
    {
      item: 'D1 rows written (one per statement, at least)',
      usd: usd((j.d1_statements_object + j.d1_statements_api) * PRICES.rows_written_per_million),
    },
  ];
  rows.push({ item: 'total', usd: usd(rows.reduce((a, r) => a + r.usd, 0)) });
  const byRequests = Math.floor(DO_REQUESTS_PER_SEC / Math.max(j.requests_to_api, 1e-9));
  const byCpu = Math.floor(1000 / Math.max(j.workerd_cpu_ms, 1e-9));
  const note =
    `One queue's object, at about ${DO_REQUESTS_PER_SEC} requests/s, goes to about ${byRequests} jobs/s ` +
    `by requests and ${byCpu} jobs/s by CPU (this run's workerd CPU per job, which also counts the API ` +
    `Worker, so an upper bound on the object's share). An object awake all the time costs ` +
    `${usd((86400 * 30 * DO_GB * PRICES.do_gb_sec_per_million) / 1e6)} USD a month in duration whatever it runs.`;
  return { rows, note };
}
