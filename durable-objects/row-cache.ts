import type { EngineJob } from '../src/core/engine/job';

/** At most this many bytes of payload and rows are kept (a Durable Object has 128 MB in all). */
const MAX_BYTES = 8 * 1024 * 1024;
/** A rough row size beside its payload: 29 columns, most of them short. */
const ROW_OVERHEAD = 400;

/**
 * Job rows the Store wrote or read lately, in memory, write-through: a job submitted a moment ago
 * is dispatched without a `SELECT *` that carries its payload back out of SQLite, and a heartbeat
 * listing a node's running jobs reads none of them (issue 14: "no payload read back from storage
 * to dispatch what is already in memory"). Bounded by bytes, oldest dropped first; a miss reads
 * SQLite, so the cache changes no answer. Reads hand out copies, as SQLite would: a caller that
 * changes a row without saving it changes nothing here either.
 */
export class RowCache {
  private readonly bySeqMap = new Map<number, EngineJob>();
  private readonly seqOfId = new Map<string, number>();
  private bytes = 0;

  bySeq(seq: number): EngineJob | null {
    const row = this.bySeqMap.get(seq);
    return row ? { ...row } : null;
  }

  byId(id: string): EngineJob | null {
    const seq = this.seqOfId.get(id);
    return seq === undefined ? null : this.bySeq(seq);
  }

  put(job: EngineJob): void {
    this.drop(job.seq);
    const row = { ...job };
    this.bySeqMap.set(row.seq, row);
    this.seqOfId.set(row.id, row.seq);
    this.bytes += sizeOf(row);
    for (const [seq] of this.bySeqMap) {
      if (this.bytes <= MAX_BYTES) break;
      this.drop(seq);
    }
  }

  drop(seq: number): void {
    const row = this.bySeqMap.get(seq);
    if (!row) return;
    this.bySeqMap.delete(seq);
    this.seqOfId.delete(row.id);
    this.bytes -= sizeOf(row);
  }

  clear(): void {
    this.bySeqMap.clear();
    this.seqOfId.clear();
    this.bytes = 0;
  }
}

function sizeOf(row: EngineJob): number {
  return ROW_OVERHEAD + row.payload.length * 2 + (row.last_error?.length ?? 0) * 2;
}
