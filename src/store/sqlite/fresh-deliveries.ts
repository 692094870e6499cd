/** A published message, as the first claim of its deliveries needs it. */
export interface FreshMessage {
  id: string;
  payload: string;
  /** Its deliveries, among which its memory is counted. */
  deliveries: number;
}

/** What the claim of a delivery not yet attempted takes from its publish instead of from the table. */
export interface Fresh {
  message: FreshMessage;
  tenantId: string;
  url: string;
  createdAt: number;
}

/**
 * One publish's deliveries to one webhook: consecutive rows (publish.ts writes a batch's rows
 * webhook by webhook), the i-th of them for messages[i].
 */
interface Run {
  first: number;
  messages: FreshMessage[];
  tenantId: string;
  url: string;
  createdAt: number;
  /** Rows not yet taken; the run is dropped at 0. */
  left: number;
  bytes: number;
}

/** Memory the runs may hold, counted as below (each message's payload shared among its deliveries). */
const BUDGET_BYTES = 32 * 1024 * 1024;
/** Per delivery: its slot in a run; per message: its object and id, besides the payload. */
const DELIVERY_BYTES = 8;
const MESSAGE_BYTES = 96;

/**
 * The fields of freshly published deliveries that cannot change before their first attempt (their
 * message, its payload, the URL, the tenant), kept from the publish so that the claim need not read
 * them back: in bench (a) the claim's read of the taken rows with their payloads was 5.3 µs a row,
 * over half of a claim. Nothing here is trusted on its own: the claim still reads each row's state,
 * and takes these fields only for a row still PENDING, due, never attempted, and of the same
 * message; any other row is read in full as before. Held within BUDGET_BYTES: past it, new
 * deliveries are simply not kept (their claim reads them).
 */
export class FreshDeliveries {
  /** Per webhook, in row order; `head` runs at the front are spent. */
  readonly #runs = new Map<string, { list: Run[]; head: number }>();
  #bytes = 0;

  /** `messages[i]` is the message of row `first + i`, a delivery to `webhookId`. */
  add(
    webhookId: string,
    first: number,
    messages: FreshMessage[],
    fields: { tenantId: string; url: string; createdAt: number },
  ): void {
    let bytes = 0;
    for (const m of messages) bytes += DELIVERY_BYTES + (MESSAGE_BYTES + m.payload.length) / m.deliveries;
    if (this.#bytes + bytes > BUDGET_BYTES) return;
    // Row numbers only grow, except after a rolled-back batch: then this webhook starts over.
    const last = this.#runs.get(webhookId)?.list.at(-1);
    if (last && last.first >= first) this.#drop(webhookId);
    let entry = this.#runs.get(webhookId);
    if (!entry) {
      entry = { list: [], head: 0 };
      this.#runs.set(webhookId, entry);
    }
    entry.list.push({ first, messages, ...fields, left: messages.length, bytes });
    this.#bytes += bytes;
  }

  /** The kept fields of row `seq`, a delivery to `webhookId`, if kept; counts it as taken. */
  take(webhookId: string, seq: number): Fresh | undefined {
    const entry = this.#runs.get(webhookId);
    if (!entry) return undefined;
    const { list } = entry;
    // The last run starting at or before seq.
    let lo = entry.head;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((list[mid] as Run).first <= seq) lo = mid;
      else hi = mid - 1;
    }
    const run = list[lo];
    if (!run || run.left === 0 || seq < run.first || seq >= run.first + run.messages.length) return undefined;
    const message = run.messages[seq - run.first] as FreshMessage;
    if (--run.left === 0) this.#spend(webhookId, entry, run);
    return { message, tenantId: run.tenantId, url: run.url, createdAt: run.createdAt };
  }

  /** Forgets the webhooks with no due work left (their kept rows were held or cancelled). */
  keepOnly(webhookIds: ReadonlySet<string>): void {
    if (this.#runs.size === 0) return;
    for (const id of [...this.#runs.keys()]) if (!webhookIds.has(id)) this.#drop(id);
  }

  get bytes(): number {
    return this.#bytes;
  }

  #spend(webhookId: string, entry: { list: Run[]; head: number }, run: Run): void {
    this.#bytes -= run.bytes;
    run.messages = [];
    while (entry.head < entry.list.length && (entry.list[entry.head] as Run).left === 0) entry.head++;
    if (entry.head === entry.list.length) this.#runs.delete(webhookId);
    else if (entry.head > 64 && entry.head * 2 > entry.list.length) {
      entry.list = entry.list.slice(entry.head);
      entry.head = 0;
    }
  }

  #drop(webhookId: string): void {
    const entry = this.#runs.get(webhookId);
    if (!entry) return;
    for (let i = entry.head; i < entry.list.length; i++) {
      const run = entry.list[i] as Run;
      if (run.left > 0) this.#bytes -= run.bytes;
    }
    this.#runs.delete(webhookId);
  }
}
