// The message list of the room on screen: messages in id order, the ones still sending last, and
// scrolled like a chat: it follows new messages only while it is at its end.
import { element } from "./dom.js";

const AT_END = 40; // px from the end that still count as "at the end"

export class MessageList {
  /**
   * @param {HTMLElement} list  the <ol>
   * @param {{me: () => string | null, imageUrl: (attachment) => Promise<string>,
   *          onOlder: () => void, onError: (error) => void}} hooks
   */
  constructor(list, hooks) {
    this.list = list;
    this.hooks = hooks;
    this.messages = []; // sorted by id
    this.hasOlder = false;
    this.stick = true; // false while the reader is away from the end (reading older messages)
    list.addEventListener("scroll", () => {
      this.stick = list.scrollHeight - list.scrollTop - list.clientHeight < AT_END;
    });
  }

  get firstId() {
    return this.messages.length ? this.messages[0].id : null;
  }

  get lastId() {
    return this.messages.length ? this.messages[this.messages.length - 1].id : 0;
  }

  /** Empty the list (another room): only the "Load older" button stays, hidden. */
  reset() {
    this.messages = [];
    this.hasOlder = false;
    const button = element("button", { type: "button", class: "quiet", "data-testid": "load-older" }, [
      "Load older messages",
    ]);
    button.addEventListener("click", () => this.hooks.onOlder());
    this.older = element("li", { class: "older" }, [button]);
    this.older.hidden = true;
    this.list.replaceChildren(this.older);
  }

  /** Show messages not shown yet. ``older``: a page of history above, the message being read stays put. */
  add(incoming, { older = false } = {}) {
    const known = new Set(this.messages.map((m) => m.id));
    const fresh = incoming.filter((m) => !known.has(m.id)).sort((a, b) => a.id - b.id);
    this.older.hidden = !this.hasOlder;
    if (!fresh.length) return;
    const last = this.lastId;
    const height = this.list.scrollHeight;
    const follow = this.stick || (!older && fresh.some((m) => m.user === this.hooks.me()));
    this.messages.push(...fresh);
    this.messages.sort((a, b) => a.id - b.id);
    if (fresh.every((m) => m.id > last)) {
      for (const message of fresh) this.list.insertBefore(this.render(message), this.firstSending());
    } else {
      for (const node of this.list.querySelectorAll(".message:not(.pending):not(.failed), .notice")) node.remove();
      const anchor = this.firstSending();
      for (const message of this.messages) this.list.insertBefore(this.render(message), anchor);
    }
    if (older) this.list.scrollTop += this.list.scrollHeight - height;
    else if (follow) this.scrollToEnd();
  }

  notice(text) {
    this.list.insertBefore(element("li", { class: "notice" }, [text]), this.firstSending());
    if (this.stick) this.scrollToEnd();
  }

  /** A message of the outbox, shown as "sending…" below the others. */
  addSending(item) {
    const label = item.fileName ? `${item.text} [${item.fileName}]` : item.text;
    const meta = [element("span", { class: "author" }, [this.hooks.me() || ""]), element("span", { class: "state" }, ["sending…"])];
    const node = element("li", { class: "message mine pending", "data-key": item.key, "data-testid": "pending" }, [
      element("div", { class: "meta" }, meta),
      element("div", { class: "text" }, [label]),
    ]);
    this.list.append(node);
    this.stick = true;
    this.scrollToEnd();
  }

  /** Show the outbox's items of ``room`` again (after the list was emptied). */
  showSending(items, room) {
    for (const node of this.list.querySelectorAll(".pending")) node.remove();
    for (const item of items) if (item.room === room) this.addSending(item);
  }

  sent(item) {
    this.list.querySelector(`[data-key="${item.key}"]`)?.remove();
  }

  failed(item, reason) {
    const node = this.list.querySelector(`[data-key="${item.key}"]`);
    if (!node) return;
    node.classList.replace("pending", "failed");
    node.querySelector(".state").textContent = `not sent: ${reason}`;
  }

  scrollToEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  firstSending() {
    return this.list.querySelector(".pending, .failed");
  }

  render(message) {
    const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const mine = message.user === this.hooks.me();
    return element("li", { class: mine ? "message mine" : "message", "data-id": message.id }, [
      element("div", { class: "meta" }, [element("span", { class: "author" }, [message.user]), element("time", {}, [time])]),
      element("div", { class: "text" }, [message.text]),
      ...(message.attachment ? [this.renderImage(message.attachment)] : []),
    ]);
  }

  renderImage(attachment) {
    const img = element("img", { class: "attachment", alt: attachment.name, "data-testid": "attachment" });
    img.addEventListener("load", () => {
      if (this.stick) this.scrollToEnd(); // the image made the list taller: still show its end
    });
    this.hooks
      .imageUrl(attachment)
      .then((url) => (img.src = url))
      .catch(this.hooks.onError);
    return img;
  }
}
