// The outbox: messages typed and not yet acknowledged, sent one at a time and in order, only while
// the page says it is ready (logged in and in its room). Nothing typed is lost: a message whose
// sending failed with the connection stays first in line; one that was sent but unanswered may
// have been stored, so it is looked for (findDelivered) before it is sent again.

const STORAGE_KEY = "chat.outbox";
const RETRY_DELAY = 500; // ms before going on when the connection came back while a send was failing

/** A failure of the way there (fetch failed, connection lost, no answer), not a refusal. */
export function isConnectionError(error) {
  return error instanceof TypeError || [502, 503, 504].includes(error?.code);
}

export class Outbox {
  /**
   * @param {{deliver: (item) => Promise<object>, findDelivered: (item) => Promise<object | null>,
   *          onSent: (item, message) => void, onFailed: (item, error) => void, onChange: (count) => void}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.items = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "[]");
    this.ready = false;
    this.flushing = false;
  }

  /** Queue a message ({user, room, text, after, file?}) under a new key; ``flush()`` sends it when ready. */
  add(message) {
    const key = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
    const item = { ...message, key, fileName: message.file?.name };
    this.items.push(item);
    this.save();
    return item;
  }

  /** The connection is logged in and in its room: send what waits. */
  resume() {
    this.ready = true;
    this.flush();
  }

  pause() {
    this.ready = false;
  }

  /** Keep only what ``keep`` accepts (e.g. the items of the user now logged in). */
  retain(keep) {
    this.items = this.items.filter(keep);
    this.save();
  }

  clear() {
    this.items = [];
    sessionStorage.removeItem(STORAGE_KEY);
    this.hooks.onChange(0);
  }

  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    let interrupted = false;
    try {
      while (this.ready && this.items.length) {
        const item = this.items[0];
        let sent;
        try {
          sent = await this.send(item);
        } catch (error) {
          if (isConnectionError(error)) {
            // Kept, first in line. Sent but unanswered: it may have been stored (looked for next time).
            item.uncertain = item.uncertain || error.details?.reason === "connection_lost" || error.code === 504;
            this.save();
            interrupted = true;
            break;
          }
          this.items.shift(); // refused: said next to the message, and the others go on
          this.save();
          this.hooks.onFailed(item, error);
          continue;
        }
        this.items.shift();
        this.save();
        this.hooks.onSent(item, sent);
      }
    } finally {
      this.flushing = false;
    }
    // The connection may be back already (its rejoin found this loop busy): go on there.
    if (interrupted && this.ready && this.items.length) setTimeout(() => this.flush(), RETRY_DELAY);
  }

  async send(item) {
    if (item.uncertain) {
      const arrived = await this.hooks.findDelivered(item);
      if (arrived) return arrived;
    }
    return this.hooks.deliver(item);
  }

  save() {
    // Files live in this tab's memory only; the text of every queued message survives a reload.
    const kept = this.items.map(({ file, ...rest }) => rest);
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(kept));
    this.hooks.onChange(this.items.length);
  }
}
